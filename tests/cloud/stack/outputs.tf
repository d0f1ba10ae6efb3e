output "kubernetes_endpoint" {
  value = standin_cluster.main.endpoint
}

output "kubernetes_ca_certificate" {
  value = standin_cluster.main.ca_certificate
}

output "kubeconfig" {
  value     = standin_cluster.main.kubeconfig
  sensitive = true
}

output "database_host" {
  value = one(standin_database.main[*].host)
}

output "database_port" {
  value = one(standin_database.main[*].port)
}

output "database_name" {
  value = var.create_database ? var.db_name : null
}

output "database_username" {
  value = var.create_database ? var.db_username : null
}

output "filestore_bucket" {
  value = standin_bucket.filestore.name
}

output "volume_ids" {
  value = { for key, volume in standin_volume.data : key => volume.id }
}

output "nodes" {
  value = []
}
