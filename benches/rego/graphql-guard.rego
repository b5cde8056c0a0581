# A GraphQL gateway guard: the query must be valid against the schema in data.params.schema and must
# not select a field listed in data.params.denied_fields.
package policy

default allow := false

allow if {
	graphql.is_valid(input.query, data.params.schema)
	count(violations) == 0
}

violations contains "the query is not valid against the schema" if {
	not graphql.is_valid(input.query, data.params.schema)
}

violations contains msg if {
	ast := graphql.parse_query(input.query)
	[_, node] := walk(ast)
	node.Name in data.params.denied_fields
	msg := sprintf("field %s may not be queried", [node.Name])
}
