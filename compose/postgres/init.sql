-- MLflow's backend store next to the catalog, owned by the same role (as the chart's
-- CloudNativePG cluster: bootstrap.initdb.postInitApplicationSQL).
CREATE DATABASE mlflow OWNER movierecs;
