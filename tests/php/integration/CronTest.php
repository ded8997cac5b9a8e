<?php
/**
 * WP-Cron: the old plugin's schedule and hooks, the minute tick reaching the sidecar, and
 * nothing left scheduled after deactivation.
 *
 * @package Cachicamo_Sync
 */

/**
 * Cron tests.
 */
class CronTest extends Cachicamo_Sync_Test_Case {

	public function test_the_minute_schedule_and_both_hooks_are_scheduled_on_activation() {
		$schedules = wp_get_schedules();
		$this->assertSame( 60, $schedules['cachicamoapp_one_minute']['interval'] );
		$this->assertNotFalse( wp_next_scheduled( 'cachicamoapp_process_batch_queue' ) );
		$this->assertSame( 'cachicamoapp_one_minute', wp_get_schedule( 'cachicamoapp_process_batch_queue' ) );
		$this->assertNotFalse( wp_next_scheduled( 'cachicamoapp_update_stock_from_api' ) );
	}

	public function test_deactivation_unschedules_and_activation_schedules_again() {
		Cachicamo_Sync_Plugin::deactivate();
		$this->assertFalse( wp_next_scheduled( 'cachicamoapp_process_batch_queue' ) );
		$this->assertFalse( wp_next_scheduled( 'cachicamoapp_update_stock_from_api' ) );
		Cachicamo_Sync_Plugin::activate();
		Cachicamo_Sync_Plugin::activate();
		$crons = _get_cron_array();
		$ticks = 0;
		foreach ( $crons as $hooks ) {
			$ticks += isset( $hooks['cachicamoapp_process_batch_queue'] ) ? count( $hooks['cachicamoapp_process_batch_queue'] ) : 0;
		}
		$this->assertSame( 1, $ticks, 'activating twice schedules the tick once' );
	}

	public function test_the_tick_reaches_the_sidecar_and_starts_no_run_by_itself_when_not_due() {
		update_option( Cachicamo_Sync_Settings::OPTION, array_merge( Cachicamo_Sync_Settings::get(), array( 'cron_time' => '720' ) ) );
		$this->client()->start_sync( 'cli' );
		self::wait_for_idle();
		do_action( 'cachicamoapp_process_batch_queue' );
		$response = Cachicamo_Sync_Cron::tick();
		$this->assertIsArray( $response );
		$this->assertFalse( $response['started_scheduled_run'], 'a run just completed: the interval has not passed' );
		$this->assertSame( array(), $this->client()->list_changes( 10, 0, false )['changes'], 'the tick finalized every change' );
	}
}
