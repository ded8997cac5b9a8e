<?php
/**
 * A minimal stand-in for WP-CLI's class and utilities: it records what a command prints and
 * turns WP_CLI::error() into an exception. The commands under test are the plugin's real ones.
 *
 * @package Cachicamo_Sync
 */

// phpcs:disable Generic.Files.OneObjectStructurePerFile

/**
 * Raised by WP_CLI::error(), as WP-CLI would exit.
 */
class Cachicamo_Sync_Test_Cli_Exit extends Exception {}

/**
 * Records output.
 */
class WP_CLI {
	/**
	 * Lines printed, as [kind, text].
	 *
	 * @var array
	 */
	public static $lines = array();
	/**
	 * Registered commands.
	 *
	 * @var array
	 */
	public static $commands = array();

	public static function add_command( $name, $callable ) {
		self::$commands[ $name ] = $callable;
	}
	public static function line( $text = '' ) {
		self::$lines[] = array( 'line', $text );
	}
	public static function log( $text ) {
		self::$lines[] = array( 'log', $text );
	}
	public static function success( $text ) {
		self::$lines[] = array( 'success', $text );
	}
	public static function warning( $text ) {
		self::$lines[] = array( 'warning', $text );
	}
	public static function error( $text ) {
		self::$lines[] = array( 'error', $text );
		throw new Cachicamo_Sync_Test_Cli_Exit( $text );
	}
	public static function reset() {
		self::$lines = array();
	}
	public static function text() {
		return implode( "\n", array_column( self::$lines, 1 ) );
	}
}
