"""Setting Lumen up: first-run model setup, the Settings dialog and its Models and Training set
pages, and starting at login."""
