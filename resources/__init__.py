"""Icons, the .desktop file and stylesheets, shipped as package data."""
