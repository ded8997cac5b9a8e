<?php
/**
 * A small proto3 codec, so the plugin needs neither Composer nor the protobuf extension.
 *
 * @package Cachicamo_Sync
 */

/**
 * Encodes and decodes proto3 messages described by a schema in the format of
 * Cachicamo_Sync_Messages::SCHEMA.
 *
 * A message is a plain array keyed by field name. Decoding always returns every field of the
 * schema, in field-number order, absent ones with their proto3 defaults: 0, 0.0, '', false,
 * array() for repeated fields and null for sub-messages; enums are their numbers. Encoding
 * writes fields in field-number order, leaves out default values, and packs repeated scalars,
 * so its output is byte for byte what prost (the sidecar's encoder) writes. Unknown fields are
 * skipped on decode, so an older plugin keeps working against a newer sidecar.
 *
 * Malformed input throws UnexpectedValueException; a value that does not fit the schema throws
 * InvalidArgumentException, since it is a bug in the caller rather than bad data on the wire.
 */
class Cachicamo_Sync_Protobuf {

	const WIRE_VARINT      = 0;
	const WIRE_FIXED64     = 1;
	const WIRE_LEN         = 2;
	const WIRE_START_GROUP = 3;
	const WIRE_END_GROUP   = 4;
	const WIRE_FIXED32     = 5;

	const WIRE_TYPES = array(
		'string'  => self::WIRE_LEN,
		'message' => self::WIRE_LEN,
		'bool'    => self::WIRE_VARINT,
		'uint32'  => self::WIRE_VARINT,
		'uint64'  => self::WIRE_VARINT,
		'int64'   => self::WIRE_VARINT,
		'enum'    => self::WIRE_VARINT,
		'double'  => self::WIRE_FIXED64,
	);

	// Deeper nesting of unknown groups than this is an attack, not a message.
	const MAX_GROUP_DEPTH = 64;

	/**
	 * Message name => field name => array( number, type, repeated, message type ), each message's
	 * fields sorted by number.
	 *
	 * @var array
	 */
	private $schema = array();

	/**
	 * Message name => field number => field name, for decoding.
	 *
	 * @var array
	 */
	private $names = array();

	/**
	 * Builds a codec for the messages of a schema.
	 *
	 * @param array $schema Message name => field name => array( number, type, repeated, message type ).
	 * @throws InvalidArgumentException When a field's entry is not of that form.
	 */
	public function __construct( array $schema ) {
		foreach ( $schema as $message_type => $fields ) {
			foreach ( $fields as $name => $field ) {
				$known_type = isset( $field[1] ) && isset( self::WIRE_TYPES[ $field[1] ] ) && ( 'message' !== $field[1] || isset( $schema[ $field[3] ?? '' ] ) );
				if ( ! $known_type || ! is_int( $field[0] ?? null ) || $field[0] < 1 ) {
					throw new InvalidArgumentException( sprintf( 'The schema of %s.%s is not array( number, type, repeated, message type ) with a known type.', $message_type, $name ) );
				}
			}
			uasort(
				$fields,
				function ( $a, $b ) {
					return $a[0] <=> $b[0];
				}
			);
			$this->schema[ $message_type ] = $fields;
			foreach ( $fields as $name => $field ) {
				$this->names[ $message_type ][ $field[0] ] = $name;
			}
		}
	}

	/**
	 * Encodes a message.
	 *
	 * @param string $message_type A message of the schema.
	 * @param array  $value        Field name => value; absent or null fields are left out.
	 * @return string The encoded message.
	 * @throws InvalidArgumentException When the value does not fit the schema.
	 */
	public function encode( string $message_type, array $value ): string {
		$fields  = $this->fields( $message_type );
		$unknown = array_diff_key( $value, $fields );
		if ( $unknown ) {
			throw new InvalidArgumentException( sprintf( '%s has no field %s.', $message_type, implode( ', ', array_keys( $unknown ) ) ) );
		}
		$out = '';
		foreach ( $fields as $name => $field ) {
			if ( isset( $value[ $name ] ) ) {
				$out .= $this->encode_field( $message_type . '.' . $name, $field, $value[ $name ] );
			}
		}
		return $out;
	}

	/**
	 * Decodes a message.
	 *
	 * @param string $message_type A message of the schema.
	 * @param string $bytes        The encoded message.
	 * @return array Every field of the message by name, absent ones with their defaults.
	 * @throws UnexpectedValueException When the bytes are not a valid encoding of the message.
	 * @throws InvalidArgumentException When the message type is not in the schema.
	 */
	public function decode( string $message_type, string $bytes ): array {
		$message = $this->defaults( $message_type );
		$this->merge( $message_type, $bytes, 0, strlen( $bytes ), $message );
		return $message;
	}

	/**
	 * The fields of a message type.
	 *
	 * @param string $message_type A message of the schema.
	 * @return array
	 * @throws InvalidArgumentException When the message type is not in the schema.
	 */
	private function fields( string $message_type ): array {
		if ( ! isset( $this->schema[ $message_type ] ) ) {
			throw new InvalidArgumentException( sprintf( 'There is no message %s in the schema.', $message_type ) );
		}
		return $this->schema[ $message_type ];
	}

	/**
	 * A message with every field at its default.
	 *
	 * @param string $message_type A message of the schema.
	 * @return array
	 */
	private function defaults( string $message_type ): array {
		$message = array();
		foreach ( $this->fields( $message_type ) as $name => $field ) {
			if ( ! empty( $field[2] ) ) {
				$message[ $name ] = array();
				continue;
			}
			switch ( $field[1] ) {
				case 'message':
					$message[ $name ] = null;
					break;
				case 'string':
					$message[ $name ] = '';
					break;
				case 'bool':
					$message[ $name ] = false;
					break;
				case 'double':
					$message[ $name ] = 0.0;
					break;
				default:
					$message[ $name ] = 0;
			}
		}
		return $message;
	}

	/**
	 * Encodes one field with its key, or nothing for a default value.
	 *
	 * @param string $label Message.field, for errors.
	 * @param array  $field The field's schema entry.
	 * @param mixed  $value Its value, not null.
	 * @return string
	 * @throws InvalidArgumentException When the value does not fit the field.
	 */
	private function encode_field( string $label, array $field, $value ): string {
		$number = $field[0];
		$type   = $field[1];
		if ( empty( $field[2] ) ) {
			$payload = $this->encode_value( $label, $field, $value );
			// proto3 leaves out default scalars; a set sub-message is written even when empty.
			if ( 'message' !== $type && in_array( $value, array( 0, 0.0, '', false ), true ) ) {
				return '';
			}
			if ( self::WIRE_LEN === self::WIRE_TYPES[ $type ] ) {
				return $this->varint( $number << 3 | self::WIRE_LEN ) . $this->varint( strlen( $payload ) ) . $payload;
			}
			return $this->varint( $number << 3 | self::WIRE_TYPES[ $type ] ) . $payload;
		}
		if ( ! is_array( $value ) || ! array_is_list( $value ) ) {
			throw new InvalidArgumentException( sprintf( '%s must be a list.', $label ) );
		}
		$out = '';
		if ( self::WIRE_LEN === self::WIRE_TYPES[ $type ] ) {
			// Strings and messages repeat their key, and an empty string still counts as an item.
			foreach ( $value as $item ) {
				$payload = $this->encode_value( $label, $field, $item );
				$out    .= $this->varint( $number << 3 | self::WIRE_LEN ) . $this->varint( strlen( $payload ) ) . $payload;
			}
			return $out;
		}
		foreach ( $value as $item ) {
			$out .= $this->encode_value( $label, $field, $item );
		}
		if ( '' === $out ) {
			return '';
		}
		return $this->varint( $number << 3 | self::WIRE_LEN ) . $this->varint( strlen( $out ) ) . $out;
	}

	/**
	 * Encodes one value without its key.
	 *
	 * @param string $label Message.field, for errors.
	 * @param array  $field The field's schema entry.
	 * @param mixed  $value The value.
	 * @return string
	 * @throws InvalidArgumentException When the value does not fit the field.
	 */
	private function encode_value( string $label, array $field, $value ): string {
		$type = $field[1];
		switch ( $type ) {
			case 'string':
				if ( ! is_string( $value ) || 1 !== preg_match( '//u', $value ) ) {
					throw new InvalidArgumentException( sprintf( '%s must be a UTF-8 string.', $label ) );
				}
				return $value;
			case 'bool':
				if ( ! is_bool( $value ) ) {
					throw new InvalidArgumentException( sprintf( '%s must be a bool.', $label ) );
				}
				return $value ? "\x01" : "\x00";
			case 'double':
				if ( ! is_float( $value ) && ! is_int( $value ) ) {
					throw new InvalidArgumentException( sprintf( '%s must be a number.', $label ) );
				}
				return pack( 'e', (float) $value );
			case 'message':
				if ( ! is_array( $value ) ) {
					throw new InvalidArgumentException( sprintf( '%s must be an array (a %s message).', $label, $field[3] ) );
				}
				return $this->encode( $field[3], $value );
		}
		$ranges = array(
			'uint32' => array( 0, 0xFFFFFFFF ),
			'uint64' => array( 0, PHP_INT_MAX ),
			'int64'  => array( PHP_INT_MIN, PHP_INT_MAX ),
			'enum'   => array( -0x80000000, 0x7FFFFFFF ),
		);
		if ( ! is_int( $value ) || $value < $ranges[ $type ][0] || $value > $ranges[ $type ][1] ) {
			throw new InvalidArgumentException( sprintf( '%s must be an integer from %d to %d.', $label, $ranges[ $type ][0], $ranges[ $type ][1] ) );
		}
		return $this->varint( $value );
	}

	/**
	 * Encodes an integer as a varint; a negative one as its 64-bit two's complement (10 bytes).
	 *
	 * @param int $value The integer.
	 * @return string
	 */
	private function varint( int $value ): string {
		$out = '';
		while ( $value < 0 || $value > 0x7F ) {
			$out .= chr( ( $value & 0x7F ) | 0x80 );
			// A logical shift: PHP's >> copies the sign bit, which would never reach zero.
			$value = ( $value >> 7 ) & 0x01FFFFFFFFFFFFFF;
		}
		return $out . chr( $value );
	}

	/**
	 * Decodes the fields in $bytes[$pos, $end) into $message.
	 *
	 * Merging follows proto3: a repeated field appends, a sub-message seen twice is merged, and a
	 * scalar seen twice keeps the last value.
	 *
	 * @param string $message_type A message of the schema.
	 * @param string $bytes        The whole buffer.
	 * @param int    $pos          Where the message starts.
	 * @param int    $end          Where it ends.
	 * @param array  $message      The message decoded so far.
	 * @throws UnexpectedValueException When the bytes are malformed.
	 */
	private function merge( string $message_type, string $bytes, int $pos, int $end, array &$message ): void {
		$fields = $this->fields( $message_type );
		$names  = $this->names[ $message_type ] ?? array();
		while ( $pos < $end ) {
			$key_at = $pos;
			list( $number, $wire ) = $this->read_key( $message_type, $bytes, $pos, $end );
			if ( ! isset( $names[ $number ] ) ) {
				$this->skip( $message_type, $bytes, $pos, $end, $number, $wire, 0 );
				continue;
			}
			$name     = $names[ $number ];
			$field    = $fields[ $name ];
			$type     = $field[1];
			$expected = self::WIRE_TYPES[ $type ];
			$repeated = ! empty( $field[2] );
			if ( $repeated && self::WIRE_LEN === $wire && self::WIRE_LEN !== $expected ) {
				$packed_end = $this->read_length( $message_type, $bytes, $pos, $end );
				while ( $pos < $packed_end ) {
					$message[ $name ][] = $this->read_scalar( $message_type, $type, $bytes, $pos, $packed_end );
				}
				continue;
			}
			if ( $wire !== $expected ) {
				throw new UnexpectedValueException( sprintf( 'Malformed %s: field %s (%d) has wire type %d instead of %d at byte %d.', $message_type, $name, $number, $wire, $expected, $key_at ) );
			}
			if ( 'message' === $type ) {
				$value_end = $this->read_length( $message_type, $bytes, $pos, $end );
				$value     = $repeated || null === $message[ $name ] ? $this->defaults( $field[3] ) : $message[ $name ];
				$this->merge( $field[3], $bytes, $pos, $value_end, $value );
				$pos = $value_end;
			} else {
				$value = $this->read_scalar( $message_type, $type, $bytes, $pos, $end );
			}
			if ( $repeated ) {
				$message[ $name ][] = $value;
			} else {
				$message[ $name ] = $value;
			}
		}
	}

	/**
	 * Reads a field key.
	 *
	 * @param string $message_type For errors.
	 * @param string $bytes        The buffer.
	 * @param int    $pos          Where the key starts; moved past it.
	 * @param int    $end          Where the message ends.
	 * @return array array( field number, wire type ).
	 * @throws UnexpectedValueException When the key is malformed.
	 */
	private function read_key( string $message_type, string $bytes, int &$pos, int $end ): array {
		$at  = $pos;
		$key = $this->read_varint( $message_type, $bytes, $pos, $end );
		if ( $key < 8 || $key > 0xFFFFFFFF ) {
			throw new UnexpectedValueException( sprintf( 'Malformed %s: invalid field key %d at byte %d.', $message_type, $key, $at ) );
		}
		return array( $key >> 3, $key & 7 );
	}

	/**
	 * Skips the value of a field the schema does not know.
	 *
	 * @param string $message_type For errors.
	 * @param string $bytes        The buffer.
	 * @param int    $pos          Where the value starts; moved past it.
	 * @param int    $end          Where the message ends.
	 * @param int    $number       The field number, to match a group's end.
	 * @param int    $wire         The wire type.
	 * @param int    $depth        How many groups enclose this one.
	 * @throws UnexpectedValueException When the value is malformed.
	 */
	private function skip( string $message_type, string $bytes, int &$pos, int $end, int $number, int $wire, int $depth ): void {
		switch ( $wire ) {
			case self::WIRE_VARINT:
				$this->read_varint( $message_type, $bytes, $pos, $end );
				return;
			case self::WIRE_FIXED64:
				$this->read_fixed( $message_type, $bytes, $pos, $end, 8 );
				return;
			case self::WIRE_LEN:
				$pos = $this->read_length( $message_type, $bytes, $pos, $end );
				return;
			case self::WIRE_FIXED32:
				$this->read_fixed( $message_type, $bytes, $pos, $end, 4 );
				return;
			case self::WIRE_START_GROUP:
				if ( $depth >= self::MAX_GROUP_DEPTH ) {
					throw new UnexpectedValueException( sprintf( 'Malformed %s: groups nested too deep at byte %d.', $message_type, $pos ) );
				}
				while ( true ) {
					if ( $pos >= $end ) {
						throw new UnexpectedValueException( sprintf( 'Malformed %s: group %d has no end.', $message_type, $number ) );
					}
					$at                         = $pos;
					list( $inner, $inner_wire ) = $this->read_key( $message_type, $bytes, $pos, $end );
					if ( self::WIRE_END_GROUP === $inner_wire ) {
						if ( $inner !== $number ) {
							throw new UnexpectedValueException( sprintf( 'Malformed %s: group %d ends as group %d at byte %d.', $message_type, $number, $inner, $at ) );
						}
						return;
					}
					$this->skip( $message_type, $bytes, $pos, $end, $inner, $inner_wire, $depth + 1 );
				}
		}
		throw new UnexpectedValueException( sprintf( 'Malformed %s: field %d has the unexpected wire type %d before byte %d.', $message_type, $number, $wire, $pos ) );
	}

	/**
	 * Reads one scalar value.
	 *
	 * @param string $message_type For errors.
	 * @param string $type         The field's type, not message.
	 * @param string $bytes        The buffer.
	 * @param int    $pos          Where the value starts; moved past it.
	 * @param int    $end          Where the message (or packed list) ends.
	 * @return mixed
	 * @throws UnexpectedValueException When the value is malformed or out of range.
	 */
	private function read_scalar( string $message_type, string $type, string $bytes, int &$pos, int $end ) {
		$at = $pos;
		switch ( $type ) {
			case 'string':
				$value_end = $this->read_length( $message_type, $bytes, $pos, $end );
				$value     = substr( $bytes, $pos, $value_end - $pos );
				$pos       = $value_end;
				if ( 1 !== preg_match( '//u', $value ) ) {
					throw new UnexpectedValueException( sprintf( 'Malformed %s: the string at byte %d is not UTF-8.', $message_type, $at ) );
				}
				return $value;
			case 'double':
				return unpack( 'e', $this->read_fixed( $message_type, $bytes, $pos, $end, 8 ) )[1];
		}
		$value = $this->read_varint( $message_type, $bytes, $pos, $end );
		switch ( $type ) {
			case 'bool':
				return 0 !== $value;
			case 'uint32':
				// proto keeps the low 32 bits of a wider varint.
				return $value & 0xFFFFFFFF;
			case 'enum':
				$value &= 0xFFFFFFFF;
				return $value > 0x7FFFFFFF ? $value - 0x100000000 : $value;
			case 'uint64':
				if ( $value < 0 ) {
					throw new UnexpectedValueException( sprintf( 'Malformed %s: the uint64 at byte %d is larger than PHP can hold.', $message_type, $at ) );
				}
				return $value;
		}
		return $value;
	}

	/**
	 * Reads a varint as a 64-bit two's complement integer.
	 *
	 * @param string $message_type For errors.
	 * @param string $bytes        The buffer.
	 * @param int    $pos          Where the varint starts; moved past it.
	 * @param int    $end          Where the message ends.
	 * @return int
	 * @throws UnexpectedValueException When it is truncated or longer than 64 bits.
	 */
	private function read_varint( string $message_type, string $bytes, int &$pos, int $end ): int {
		$at    = $pos;
		$value = 0;
		for ( $shift = 0; $shift < 64; $shift += 7 ) {
			if ( $pos >= $end ) {
				throw new UnexpectedValueException( sprintf( 'Malformed %s: truncated varint at byte %d.', $message_type, $at ) );
			}
			$byte = ord( $bytes[ $pos ] );
			++$pos;
			if ( 63 === $shift && $byte > 1 ) {
				break;
			}
			$value |= ( $byte & 0x7F ) << $shift;
			if ( $byte < 0x80 ) {
				return $value;
			}
		}
		throw new UnexpectedValueException( sprintf( 'Malformed %s: varint longer than 64 bits at byte %d.', $message_type, $at ) );
	}

	/**
	 * Reads the length of a length-delimited value and checks that the value fits.
	 *
	 * @param string $message_type For errors.
	 * @param string $bytes        The buffer.
	 * @param int    $pos          Where the length starts; moved to the value.
	 * @param int    $end          Where the message ends.
	 * @return int Where the value ends.
	 * @throws UnexpectedValueException When the value runs past the end.
	 */
	private function read_length( string $message_type, string $bytes, int &$pos, int $end ): int {
		$at     = $pos;
		$length = $this->read_varint( $message_type, $bytes, $pos, $end );
		if ( $length < 0 || $length > $end - $pos ) {
			throw new UnexpectedValueException( sprintf( 'Malformed %s: the length %d at byte %d runs past the end (%d bytes left).', $message_type, $length, $at, $end - $pos ) );
		}
		return $pos + $length;
	}

	/**
	 * Reads a fixed-size value.
	 *
	 * @param string $message_type For errors.
	 * @param string $bytes        The buffer.
	 * @param int    $pos          Where the value starts; moved past it.
	 * @param int    $end          Where the message ends.
	 * @param int    $size         4 or 8.
	 * @return string Its bytes.
	 * @throws UnexpectedValueException When it is truncated.
	 */
	private function read_fixed( string $message_type, string $bytes, int &$pos, int $end, int $size ): string {
		if ( $size > $end - $pos ) {
			throw new UnexpectedValueException( sprintf( 'Malformed %s: truncated %d-byte value at byte %d.', $message_type, $size, $pos ) );
		}
		$value = substr( $bytes, $pos, $size );
		$pos  += $size;
		return $value;
	}
}
