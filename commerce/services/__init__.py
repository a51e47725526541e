"""Commerce writes (HackSoft style): one module per area; views, admin and tasks call these."""
