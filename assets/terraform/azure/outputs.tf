# The installer's output contract (installer/provision/cloud/contract.py).

output "kubernetes_endpoint" {
  value = azurerm_kubernetes_cluster.main.kube_config[0].host
}

output "kubernetes_ca_certificate" {
  value     = azurerm_kubernetes_cluster.main.kube_config[0].cluster_ca_certificate
  sensitive = true
}

output "kubeconfig" {
  value     = azurerm_kubernetes_cluster.main.kube_config_raw
  sensitive = true
}

output "database_host" {
  value = one(azurerm_postgresql_flexible_server.main[*].fqdn)
}

output "database_port" {
  value = var.create_database ? 5432 : null
}

output "database_name" {
  value = one(azurerm_postgresql_flexible_server_database.main[*].name)
}

output "database_username" {
  value = var.create_database ? var.db_username : null
}

output "filestore_bucket" {
  value = azurerm_storage_container.filestore.name
}

output "volume_ids" {
  value       = {}
  description = "Managed disks are made on demand by the Azure Disk CSI driver."
}

output "nodes" {
  value = []
}
