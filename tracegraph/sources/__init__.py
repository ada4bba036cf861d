"""Where unit and batch records come from: each module here is a `Source`.

`api` reads the TofuPilot API v2 over HTTP (httpx), `snapshot` replays a
snapshot file, `store` answers from a SQLite or PostgreSQL store that
`tracegraph sync` fills. The interface they share is `tracegraph.source`.
"""
