"""Pandera contracts of flopsheet: the input spreadsheet, the hardware table, the output estimates."""
