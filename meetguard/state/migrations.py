"""The postgres schema, as numbered migrations applied in order at start.

Each replica applies what is missing in one transaction under an advisory lock,
and records each version in ``mg_schema_migrations``; replicas starting
together wait for each other instead of racing. A migration is never edited once
released: a change is a new, higher number.
"""

from __future__ import annotations

__all__ = ["LOCK_ID", "MIGRATIONS"]

LOCK_ID = 0x6D67_7374          # "mgst": the advisory lock serialising migrations

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "consent events", """
        CREATE TABLE mg_consent_events (
            seq            bigserial PRIMARY KEY,          -- the server's recording order
            policy_id      text        NOT NULL,
            participant_id text        NOT NULL,
            purpose        text        NOT NULL,
            status         text        NOT NULL CHECK (status IN ('granted', 'refused', 'withdrawn')),
            at             timestamptz NOT NULL,
            expires        timestamptz,
            recorded_at    timestamptz NOT NULL DEFAULT now(),
            replica        text        NOT NULL
        );
        CREATE INDEX mg_consent_events_policy ON mg_consent_events (policy_id, seq);
    """),
    (2, "zoom event idempotency", """
        CREATE TABLE mg_zoom_events (
            key        text PRIMARY KEY,                   -- zoom_event.event_key: a sha256
            replica    text        NOT NULL,
            claimed_at timestamptz NOT NULL DEFAULT now()
        );
    """),
    (3, "audit chain heads", """
        CREATE TABLE mg_audit_heads (
            replica    text PRIMARY KEY,
            records    bigint      NOT NULL,
            head       text        NOT NULL,               -- the last record's hash
            updated_at timestamptz NOT NULL DEFAULT now()
        );
    """),
    (4, "re-identification vault", """
        CREATE TABLE mg_vault (
            name       text PRIMARY KEY,                   -- <sha256 of the meeting id>.key | .map
            data       bytea       NOT NULL,               -- sealed as on disk: never a clear value
            updated_at timestamptz NOT NULL DEFAULT now()
        );
    """),
    (5, "releases of every replica", """
        CREATE TABLE mg_releases (
            audit_id   text PRIMARY KEY,                   -- the release record's hash
            replica    text        NOT NULL,
            record     jsonb       NOT NULL                -- the audit record: ids, hashes, counts
        );
    """),
    (6, "zoom jobs claimed with a lease; files delivered per meeting", """
        CREATE TABLE mg_jobs (
            key         text PRIMARY KEY,                  -- the Zoom event key (a sha256)
            kind        text        NOT NULL,              -- zoom
            record      jsonb       NOT NULL,              -- job.json: plan (ids, types, sizes, URLs,
                                                           -- policy ids), phase, results: no value
            sealed      jsonb,                             -- the download token sealed (AES-GCM under
                                                           -- the Zoom secret): never clear; dropped when done
            phase       text        NOT NULL,
            owner       text        NOT NULL,              -- the replica running it
            generation  bigint      NOT NULL DEFAULT 1,    -- bumped by each claim: a stale owner's
                                                           -- writes match no row (fencing)
            lease_until timestamptz NOT NULL,              -- renewed by the owner; past it, any replica
                                                           -- may take the job over
            created_at  timestamptz NOT NULL DEFAULT now(),
            done_at     timestamptz
        );
        CREATE INDEX mg_jobs_open ON mg_jobs (created_at) WHERE phase <> 'done';
        CREATE TABLE mg_delivered (
            meeting    text NOT NULL,                      -- sha256 of the meeting uuid
            file_id    text NOT NULL,                      -- Zoom's file id
            label      text NOT NULL,                      -- [purpose, recipient] as JSON
            at         timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (meeting, file_id, label)
        );
    """),
    (7, "erasure requests and their retries", """
        CREATE TABLE mg_erasures (
            request_id     text PRIMARY KEY,
            state          text        NOT NULL,           -- pending | acknowledged | failed | manual
            submitted_at   text        NOT NULL,
            next_attempt_at double precision NOT NULL,     -- Unix time
            record         jsonb       NOT NULL,           -- ErasureState: ids, hashes, recipient,
                                                           -- participant id, attempts; no content
            sender         text,                           -- the replica sending it now
            sending_until  timestamptz,                    -- its claim, past which another may send
            updated_at     timestamptz NOT NULL DEFAULT now()
        );
    """),
    (8, "pass-through pseudonym books, sealed", """
        CREATE TABLE mg_books (
            book       text PRIMARY KEY,                   -- HMAC of (token family, meeting id)
            sealed     bytea,                              -- AES-GCM of the book; NULL: new
            holders    text[] NOT NULL DEFAULT '{}',       -- HMACs of the participant ids in it
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX mg_books_holders ON mg_books USING gin (holders);
    """),
    (9, "zoom deliveries fenced by the job's lease", """
        CREATE TABLE mg_job_deliveries (
            key        text   NOT NULL,                    -- the Zoom job (mg_jobs.key)
            label      text   NOT NULL,                    -- [purpose, recipient] as JSON
            generation bigint NOT NULL,                    -- the job's generation that claimed it
            replica    text   NOT NULL,
            state      text   NOT NULL DEFAULT 'sending' CHECK (state IN ('sending', 'delivered')),
            claimed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (key, label)                       -- one delivery per job and purpose
        );
    """),
    (10, "async jobs seen by every replica", """
        CREATE TABLE mg_async_jobs (
            id         text PRIMARY KEY,                   -- the job id (random, in its Location)
            owner      text        NOT NULL,               -- the replica running it
            token_hmac text        NOT NULL,               -- the owner's token, HMAC under a derived key
            status     text        NOT NULL CHECK (status IN ('queued', 'running', 'done')),
            result     bytea,                              -- AES-GCM sealed (status, body, parts)
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            done_at    timestamptz
        );
    """),
)
