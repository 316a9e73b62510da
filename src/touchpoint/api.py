"""The REST API v1: one NinjaAPI, each app contributing its router."""

from ninja import NinjaAPI

api = NinjaAPI(title="Touchpoint API", version="1.0.0", urls_namespace="api-v1")
