"""``make migration-check``: the deployment guide's "Migration Testing" as one command, on PostgreSQL.

1. A source database: ``SOURCE_DATABASE_URL``, or one the check creates, migrates and fills with
   onboarding data through the API (chat and form users, finished and half-way ones).
2. A staging copy of it (``pg_dump | psql``).
3. On the copy, in one Django process: ``migrate``, then the API checks (the guide's
   integration tests): every user's state, progress and export against the rows, the chat and
   the form continued by existing users, a new user through all nine steps.
4. In another, with ``AGENTS_ENABLED=false``: ``rollback onboarding``; every table keeps every
   value but the three agent columns, and the same process serves the form flow (503 for the chat).
5. In a third, with the agents on again: ``migrate``; nothing lost, the chat answers again.
6. The copy (and the seeded source) is dropped whatever happened, and one line says PASS or FAIL.

``run`` is the orchestrator (no Django); ``phases`` holds steps 1 and 3-5, each run as
``python -m devtools.migration_check.phases <phase>`` against one database.
"""
