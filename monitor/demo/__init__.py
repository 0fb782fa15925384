"""The bundled demo: a fictional airline, weeks of ordinary chatter, then a viral crisis."""
