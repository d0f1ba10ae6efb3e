"""Deploying DIGIT: Helm releases in dependency order, readiness watch, rollback, DB bootstrap, verify, summary.

Importing this package is cheap; Helm, Kubernetes and PostgreSQL clients load only when used.

Pipeline steps, each `def step(ctx: StepContext[Answers]) -> Output` (typed outputs in outputs.py):
    database_step.database   external/managed PostgreSQL: create the database and the Flyway user if missing
    releases.deploy          every plan release except monitoring/ci modules, through the executor
    releases.monitoring      Grafana admin Secret (+ Jaeger's Elasticsearch Secret), then the monitoring releases
    releases.ci              Jenkins admin Secret, then the Jenkins release (configuration as code, seed job)
    verify.verify            workloads of every deployed release ready, ingress address, core health endpoints
                             (capabilities probed; a skipped check says why)
    summary.summary          URLs, where generated credentials live and how to read them, answers and log paths
    target.open_cluster      the KubeCluster and Helm engine every step above opens

Building blocks:
    executor.Executor(helm_ops, watcher, installer_version=, concurrency=4, uninstall_failed_install=False,
                      on_event=callable(ReleaseEvent), cancelled=threading.Event).run(specs) -> DeployReport
        every release starts once its needs are ready; `concurrency` bounds the Helm calls in flight,
        never the releases waiting for readiness
        .preview(spec) -> "install" | "upgrade" | "unchanged"
    helmops.EngineOperations(engine)       the executor's Helm actions over installer.adapters.helm
    informers.ObjectCache(cluster)         one watch per kind and namespace, shared by all waiting releases
    readiness.ReadinessWatcher(cluster, poll_interval=0.5, cache=None).wait(refs, timeout=, on_progress=, cancelled=)
        raises ReleaseNotReady(breakage) on CrashLoopBackOff, ImagePullBackOff, a failed migration init
        container, an unbound claim, a failed Job, or the timeout (naming what the pod waits for)
    database.bootstrap_database(DatabaseTarget(...), dry_run=False) -> BootstrapResult
    digests: release labels carrying the plan's digests, manifest fingerprint

Configuration (environment, like Helm's own CLI):
    HELM_DRIVER / HELM_DRIVER_SQL_CONNECTION_STRING    release storage (default: secret)
    DIGIT_INSTALLER_DEPLOY_CONCURRENCY                 Helm calls (and Helm worker processes) at once (default 4)
    DIGIT_INSTALLER_UNINSTALL_FAILED_INSTALL=1         uninstall a first install that never became ready
    DIGIT_INSTALLER_READINESS_POLL                     longest pause between readiness looks (default 0.5;
                                                       with the shared watches a change wakes it at once)
"""
