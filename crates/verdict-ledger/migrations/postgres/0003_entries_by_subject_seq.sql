-- Reads are "the entries of one subject in chain order" and "the latest entry of one subject": an index
-- ending in seq answers both without sorting.
CREATE INDEX entries_by_subject_seq ON entries (org, kind, subject, seq);
DROP INDEX entries_by_subject;
