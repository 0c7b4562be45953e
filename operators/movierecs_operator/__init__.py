"""MovieRecs rollout operator (kopf).

Watches ``ModelDeployment`` resources (``movierecs.io/v1alpha1``). On a timer it reads which model
version the registry alias points to and, when the target Deployment's pod template does not run
that version yet, patches the template (annotation, ``MOVIERECS_MODEL_URI=models:/<name>/<version>``
which the pods load exactly, and the informational ``MOVIERECS_MODEL_VERSION``) so Kubernetes rolls
the pods; then it follows the Deployment until every replica runs it, or rolls back (:mod:`.rollout`).
Handlers are thin (:mod:`.handlers`); decisions and patches are pure (:mod:`.logic`, :mod:`.rollout`).

Run it with ``python -m movierecs_operator [--standalone] [--namespace NS | --all-namespaces]``.
"""

__all__ = ["ANNOTATION", "ENV_VAR", "GROUP", "PLURAL", "URI_ENV_VAR", "VERSION"]

GROUP = "movierecs.io"
VERSION = "v1alpha1"
PLURAL = "modeldeployments"
KIND = "ModelDeployment"
ANNOTATION = "movierecs.io/model-version"
ENV_VAR = "MOVIERECS_MODEL_VERSION"
URI_ENV_VAR = "MOVIERECS_MODEL_URI"  # the pinned model every pod loads (never the alias)
