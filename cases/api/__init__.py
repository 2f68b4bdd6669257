"""The API for partners' tools: an interface over the same services, selectors and access
rules as the web pages (see docs/api.md). Nothing here decides who may do what:
``cases/access.py`` does, as for the web."""
