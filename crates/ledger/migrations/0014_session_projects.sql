-- a session may be bound to a project by the backend that mints it.

ALTER TABLE sessions ADD COLUMN project TEXT
