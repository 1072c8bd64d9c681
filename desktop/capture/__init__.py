"""Getting a picture off the screen: screen, window and region grabs, the region chooser,
the capture delay, global shortcuts, and the one-instance socket that forwards `lumen capture`."""
