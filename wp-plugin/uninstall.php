<?php
/**
 * Uninstall: scheduled events always go; settings, the queue and history only when the owner
 * chose "delete data on uninstall".
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

require_once __DIR__ . '/includes/class-cachicamo-sync-settings.php';
require_once __DIR__ . '/includes/class-cachicamo-sync-cron.php';
require_once __DIR__ . '/includes/class-cachicamo-sync-alerts.php';
require_once __DIR__ . '/includes/class-cachicamo-sync-notifier.php';
require_once __DIR__ . '/includes/class-cachicamo-sync-uninstaller.php';

Cachicamo_Sync_Uninstaller::run();
