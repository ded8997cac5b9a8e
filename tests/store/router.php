<?php
/**
 * Router for `php -S`: serves what exists (files, and folders with an index.php), sends every
 * other path to WordPress, as a web server's rewrite rules would.
 *
 * @package Cachicamo_Sync
 */

$cachicamo_path = __DIR__ . (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
if ( is_file( $cachicamo_path ) || is_file( rtrim( $cachicamo_path, '/' ) . '/index.php' ) ) {
	return false;
}
require __DIR__ . '/index.php';
