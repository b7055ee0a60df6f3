-- a chat turn's hold names its conversation (what a chat has cost so far).

ALTER TABLE holds ADD COLUMN conversation TEXT;
CREATE INDEX holds_conversation ON holds (conversation)
