-- Roles an account holds, space-separated (`admin` opens the admin console).
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '';
