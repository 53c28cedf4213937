from ninja import NinjaAPI

api = NinjaAPI(title="carenet API", version="1", urls_namespace="api-v1")
