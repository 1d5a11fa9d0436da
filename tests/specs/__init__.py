"""The platforms' published schemas our payloads are checked against, kept in the repository.

Each folder's SOURCE.md says where its files came from (repository, commit, licence), so a fresh
clone can run every test with nothing beside it.
"""

from pathlib import Path

SPECS = Path(__file__).resolve().parent
ADAPTIVE_CARD_SCHEMA = SPECS / "adaptive-cards" / "adaptive-card-1.5.0.json"
SLACK_WEB_API = SPECS / "slack" / "web-api" / "slack_web_openapi_v2_without_examples.json"
SLACK_MANIFEST_SCHEMAS = SPECS / "slack" / "manifest"
COMPOSE_SCHEMA = SPECS / "compose" / "compose-spec.json"
