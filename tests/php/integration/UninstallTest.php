<?php
/**
 * Uninstall removes options and tables only when the owner chose so.
 *
 * @package Cachicamo_Sync
 */

/**
 * Uninstall tests (last: they drop the tables).
 */
class UninstallTest extends Cachicamo_Sync_Test_Case {

	/**
	 * The sidecar's tables present now.
	 *
	 * @return string[]
	 */
	private function tables() {
		global $wpdb;
		return $wpdb->get_col( $wpdb->prepare( 'SHOW TABLES LIKE %s', $wpdb->esc_like( $wpdb->prefix . 'cachicamo' ) . '%' ) );
	}

	public function test_without_consent_only_the_schedules_go() {
		$this->assertCount( 6, $this->tables() );
		$this->assertFalse( Cachicamo_Sync_Uninstaller::run() );
		$this->assertFalse( wp_next_scheduled( Cachicamo_Sync_Cron::TICK_HOOK ) );
		$this->assertCount( 6, $this->tables(), 'the tables stay' );
		$this->assertNotFalse( get_option( Cachicamo_Sync_Settings::OPTION ) );
	}

	public function test_with_consent_the_data_goes_too() {
		self::wait_for_idle();
		update_option( Cachicamo_Sync_Settings::OPTION, array_merge( Cachicamo_Sync_Settings::get(), array( 'delete_data_on_uninstall' => 'yes' ) ) );
		update_option( Cachicamo_Sync_Notifier::LAST_ID_OPTION, 7 );
		$this->assertTrue( Cachicamo_Sync_Uninstaller::run() );
		$this->assertSame( array(), $this->tables() );
		$this->assertFalse( get_option( Cachicamo_Sync_Settings::OPTION ) );
		$this->assertFalse( get_option( 'cachicamoapp_last_stock_sync' ) );
		$this->assertFalse( get_option( Cachicamo_Sync_Notifier::LAST_ID_OPTION ) );
		$this->assertNotFalse( get_option( 'siteurl' ), 'nothing else is touched' );
	}
}
