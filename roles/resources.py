"""The IAM resource names of the platform's own models, for the console and object delegation."""

from django.apps import apps

# model label -> IAM resource path. The console and guardian speak Django permissions
# ('principals.change_principal'); the engine speaks 'iam/principals:write'.
MODEL_RESOURCES = {
    "principals.principal": "iam/principals",
    "clients.client": "iam/clients",
    "clients.clientsecret": "iam/clients",
    "clients.apikey": "iam/apikeys",
    "roles.role": "iam/roles",
    "roles.rolebinding": "iam/bindings",
}


def register(model_label, resource):
    """Apps that arrive later (audit, jit) name their resources here from their AppConfig.ready()."""
    MODEL_RESOURCES[model_label.lower()] = resource


def resource_for_model_label(label):
    return MODEL_RESOURCES.get(label.lower())


def resources_for_app(app_label):
    prefix = f"{app_label}."
    return [resource for label, resource in MODEL_RESOURCES.items() if label.startswith(prefix)]


def object_for_resource(resource, target):
    """('iam/clients', 'iam/clients/<pk>') -> (Client, '<pk>'), or None when it names no object."""
    if not target.startswith(resource + "/"):
        return None
    obj_pk = target[len(resource) + 1:]
    if not obj_pk or "/" in obj_pk:
        return None
    for label, name in MODEL_RESOURCES.items():
        if name == resource:
            return apps.get_model(label), obj_pk
    return None
