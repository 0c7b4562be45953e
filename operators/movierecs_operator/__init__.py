"""MovieRecs rollout operator (kopf).

Watches ``ModelDeployment`` resources (``movierecs.io/v1alpha1``). On a timer it reads which model
version the registry alias points to and, when the target Deployment's pod template does not run
that version yet, patches the template (annotation + ``MOVIERECS_MODEL_VERSION``) so Kubernetes rolls
the pods. Handlers are thin (:mod:`.handlers`); decisions and patches are pure (:mod:`.logic`).

Run it with ``python -m movierecs_operator [--standalone] [--namespace NS | --all-namespaces]``.
"""

__all__ = ["ANNOTATION", "ENV_VAR", "GROUP", "PLURAL", "VERSION"]

GROUP = "movierecs.io"
VERSION = "v1alpha1"
PLURAL = "modeldeployments"
KIND = "ModelDeployment"
ANNOTATION = "movierecs.io/model-version"
ENV_VAR = "MOVIERECS_MODEL_VERSION"
