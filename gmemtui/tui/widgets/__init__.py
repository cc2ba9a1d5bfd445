"""The widgets of the main screen: the map (GPA and file bars), slot table, summary, explain panel,
warnings and title line. The help screen, dialogs and trace timeline live beside them."""
