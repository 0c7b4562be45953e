# syntax=docker/dockerfile:1.7
# One image for every MovieRecs process; the entrypoint is the `movierecs` CLI and the arguments
# choose the component:
#   api       movierecs serve --host 0.0.0.0 --port 8000     (default CMD)
#   consumer  movierecs consume
#   trainer   movierecs train | evaluate | promote           (Airflow KubernetesPodOperator pods)
#   ui        movierecs ui
#   operator  --entrypoint movierecs-operator                 (kopf, operators/)
#   mlflow    --entrypoint mlflow server ...                  (the chart's MLflow server)
# Runs as uid 10001 with a read-only root filesystem: everything it writes goes under /tmp
# (HOME, MOVIERECS_HOME, MPLCONFIGDIR), which the chart mounts as an emptyDir.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------- builder: a self-contained virtualenv in /opt/venv ----------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
# Everything .dockerignore lets through: pyproject.toml, constraints.txt, README, src/, operators/.
COPY . .
# The app with its UI and operator extras, the operator package when present, and the server-side
# drivers MLflow needs for a PostgreSQL backend and S3 artifacts. constraints.txt pins what
# rectools/mlflow need (numpy<2, mlflow 3.17.2, ...).
RUN pip install -c constraints.txt ".[ui,ops]" "psycopg2-binary>=2.9.10,<3" "boto3>=1.34,<2" \
 && if [ -f operators/pyproject.toml ]; then pip install -c constraints.txt ./operators; fi \
 && find /opt/venv -depth -type d -name __pycache__ -exec rm -rf {} + \
 && movierecs --help > /dev/null

# ---------- runtime ----------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="movierecs" \
      org.opencontainers.image.description="MovieRecs recommender: api, consumer, trainer, ui, operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/movierecs/movierecs"
RUN groupadd --system --gid 10001 movierecs \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp/movierecs --no-create-home \
      --shell /usr/sbin/nologin movierecs
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OPENBLAS_NUM_THREADS=1 \
    HOME=/tmp/movierecs \
    MOVIERECS_HOME=/tmp/movierecs \
    MPLCONFIGDIR=/tmp/movierecs/matplotlib \
    XDG_CACHE_HOME=/tmp/movierecs/.cache \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000 8501 9100 9200 5000
ENTRYPOINT ["movierecs"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
