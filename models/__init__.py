"""shiftdesk's domain and store: pure Python, SQLModel and pendulum. Never imports Textual."""
