//! Terminal prompter for headless machines (`--ui tty`).
