"""The main window itself and its furniture: starting it, the actions and their shortcuts,
the drop zone, tray, theme, icons and the small widget makers the dialogs share."""
