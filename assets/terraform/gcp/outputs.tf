# The installer's output contract (installer/provision/cloud/contract.py).

output "kubernetes_endpoint" {
  value = "https://${google_container_cluster.main.endpoint}"
}

output "kubernetes_ca_certificate" {
  value = google_container_cluster.main.master_auth[0].cluster_ca_certificate
}

# A kubeconfig whose credentials come from gke-gcloud-auth-plugin with the same service account.
output "kubeconfig" {
  sensitive = true
  value = jsonencode({
    apiVersion        = "v1"
    kind              = "Config"
    "current-context" = var.name
    clusters = [{
      name = var.name
      cluster = {
        server                       = "https://${google_container_cluster.main.endpoint}"
        "certificate-authority-data" = google_container_cluster.main.master_auth[0].cluster_ca_certificate
      }
    }]
    contexts = [{ name = var.name, context = { cluster = var.name, user = var.name } }]
    users = [{
      name = var.name
      user = {
        exec = {
          apiVersion         = "client.authentication.k8s.io/v1beta1"
          command            = "gke-gcloud-auth-plugin"
          provideClusterInfo = true
        }
      }
    }]
  })
}

output "database_host" {
  value = one(google_sql_database_instance.main[*].private_ip_address)
}

output "database_port" {
  value = var.create_database ? 5432 : null
}

output "database_name" {
  value = one(google_sql_database.main[*].name)
}

output "database_username" {
  value = one(google_sql_user.main[*].name)
}

output "filestore_bucket" {
  value = google_storage_bucket.filestore.name
}

output "volume_ids" {
  value       = {}
  description = "Persistent disks are made on demand by the GCE PD CSI driver."
}

output "nodes" {
  value = []
}
