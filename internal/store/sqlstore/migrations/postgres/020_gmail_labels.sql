-- How a project turns a Gmail source's labels into folders (engine.LabelOptions).
ALTER TABLE projects ADD COLUMN first_label_only BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE projects ADD COLUMN spam_and_trash BOOLEAN NOT NULL DEFAULT FALSE;
