# DIGIT on Azure: a resource group and virtual network, AKS, PostgreSQL flexible server (private) and a
# storage account with the filestore container. Raw resources only (no registry modules).
# Credentials come from ARM_* in Terraform's environment (the installer sets them from the answers).

terraform {
  required_version = ">= 1.0"
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 3.0"
    }
  }
}

provider "azurerm" {
  features {}
}

locals {
  tags = {
    "digit-installer-install" = var.name
  }
  # Storage account names: 3-24 lower-case letters and digits, globally unique.
  storage_account = substr(replace("${var.name}files", "-", ""), 0, 24)
}

resource "azurerm_resource_group" "main" {
  name     = var.name
  location = var.region
  tags     = local.tags
}

resource "azurerm_virtual_network" "main" {
  name                = var.name
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  address_space       = ["10.50.0.0/16"]
  tags                = local.tags
}

resource "azurerm_subnet" "aks" {
  name                 = "aks"
  resource_group_name  = azurerm_resource_group.main.name
  virtual_network_name = azurerm_virtual_network.main.name
  address_prefixes     = ["10.50.0.0/20"]
}

resource "azurerm_subnet" "database" {
  name                 = "database"
  resource_group_name  = azurerm_resource_group.main.name
  virtual_network_name = azurerm_virtual_network.main.name
  address_prefixes     = ["10.50.16.0/24"]
  service_endpoints    = ["Microsoft.Storage"]
  delegation {
    name = "postgres"
    service_delegation {
      name    = "Microsoft.DBforPostgreSQL/flexibleServers"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

# --- AKS ---------------------------------------------------------------------------------------

resource "azurerm_kubernetes_cluster" "main" {
  name                = var.name
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  dns_prefix          = var.name
  kubernetes_version  = var.kubernetes_version
  tags                = local.tags

  default_node_pool {
    name            = "workers"
    node_count      = var.node_count
    vm_size         = var.node_instance_type
    os_disk_size_gb = var.node_disk_gb
    vnet_subnet_id  = azurerm_subnet.aks.id
  }

  identity {
    type = "SystemAssigned"
  }

  network_profile {
    network_plugin = "azure"
    service_cidr   = "10.51.0.0/16"
    dns_service_ip = "10.51.0.10"
  }
}

# --- PostgreSQL flexible server ------------------------------------------------------------------

resource "azurerm_private_dns_zone" "database" {
  count               = var.create_database ? 1 : 0
  name                = "${var.name}.postgres.database.azure.com"
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "database" {
  count                 = var.create_database ? 1 : 0
  name                  = "${var.name}-db"
  private_dns_zone_name = azurerm_private_dns_zone.database[0].name
  resource_group_name   = azurerm_resource_group.main.name
  virtual_network_id    = azurerm_virtual_network.main.id
}

resource "azurerm_postgresql_flexible_server" "main" {
  count                  = var.create_database ? 1 : 0
  name                   = "${var.name}-db"
  resource_group_name    = azurerm_resource_group.main.name
  location               = azurerm_resource_group.main.location
  version                = var.db_version
  sku_name               = var.db_instance_class
  storage_mb             = var.db_storage_gb * 1024
  administrator_login    = var.db_username
  administrator_password = var.db_password
  delegated_subnet_id    = azurerm_subnet.database.id
  private_dns_zone_id    = azurerm_private_dns_zone.database[0].id
  backup_retention_days  = 7
  tags                   = local.tags
  depends_on             = [azurerm_private_dns_zone_virtual_network_link.database]

  lifecycle {
    ignore_changes = [zone]
  }
}

resource "azurerm_postgresql_flexible_server_database" "main" {
  count     = var.create_database ? 1 : 0
  name      = var.db_name
  server_id = azurerm_postgresql_flexible_server.main[0].id
  charset   = "UTF8"
  collation = "en_US.utf8"
}

# --- filestore ---------------------------------------------------------------------------------

resource "azurerm_storage_account" "filestore" {
  name                     = local.storage_account
  resource_group_name      = azurerm_resource_group.main.name
  location                 = azurerm_resource_group.main.location
  account_tier             = "Standard"
  account_replication_type = "ZRS"
  min_tls_version          = "TLS1_2"
  tags                     = local.tags
}

resource "azurerm_storage_container" "filestore" {
  name                  = var.filestore_bucket
  storage_account_name  = azurerm_storage_account.filestore.name
  container_access_type = "private"
}
