"""The outside world behind small typed interfaces; the only package that imports heavy libraries.

Each module is one adapter: an interface (a Protocol whose docstrings say what every call raises
and what it times out on) and its implementation over the real thing. Heavy imports (kubernetes,
paramiko, psycopg, helm_python, python_terraform) happen inside functions, so commands that do
not need them (`--help`, `validate`) never load them. Every network call has a timeout.

    ssh.py        RemoteSession (SSHSession over paramiko), host key policy, scan_host_key
    kube.py       KubeCluster (ApiCluster over the kubernetes client; plain JSON objects)
    helm/         HelmEngine (HelmSdkEngine: Helm's Go engine in a child process)
    postgres.py   PgSession (PsycopgSession over psycopg)
    registry.py   an OCI registry's distribution API
    terraform.py  TerraformRunner (contract only so far)
"""
