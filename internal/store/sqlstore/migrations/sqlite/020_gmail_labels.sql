-- How a project turns a Gmail source's labels into folders (engine.LabelOptions).
ALTER TABLE projects ADD COLUMN first_label_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN spam_and_trash INTEGER NOT NULL DEFAULT 0;
