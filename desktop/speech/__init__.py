"""Everything the window says: the screen reader or Lumen's own voice (the router), results heard
sentence by sentence, the Stop/Repeat commands, announcements and earcons."""
