/* lib/wire: every accessor at the last byte that fits, and one past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "wire/wire.h"

static void read_exact_fit(void **state)
{
	const uint8_t buf[15] = { 1, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
				  0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
	struct wire w = wire_reader(buf, sizeof(buf));

	assert_int_equal(wire_read_u8(&w), 1);
	assert_int_equal(wire_read_u16(&w), 0x0203);
	assert_int_equal(wire_read_u32(&w), 0x04050607);
	assert_true(wire_read_u64(&w) == 0x08090a0b0c0d0e0fULL);
	assert_int_equal(wire_avail(&w), 0);
	assert_int_equal(wire_offset(&w), 15);
	assert_int_equal(wire_err(&w), 0);
}

static void read_one_past(void **state)
{
	const uint8_t buf[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct wire w;
	uint8_t out[4] = { 9, 9, 9, 9 };

	/* u16 with one byte left fails and yields 0, position unchanged */
	w = wire_reader(buf, 1);
	assert_int_equal(wire_read_u16(&w), 0);
	assert_int_equal(wire_err(&w), -EBADMSG);
	assert_int_equal(wire_offset(&w), 0);

	w = wire_reader(buf, 3);
	assert_int_equal(wire_read_u32(&w), 0);
	assert_int_equal(wire_err(&w), -EBADMSG);

	w = wire_reader(buf, 7);
	assert_true(wire_read_u64(&w) == 0);
	assert_int_equal(wire_err(&w), -EBADMSG);

	w = wire_reader(buf, 0);
	assert_int_equal(wire_read_u8(&w), 0);
	assert_int_equal(wire_err(&w), -EBADMSG);

	/* bytes: a failed read zero-fills the destination */
	w = wire_reader(buf, 3);
	wire_read_bytes(&w, out, 4);
	assert_int_equal(wire_err(&w), -EBADMSG);
	for (int i = 0; i < 4; i++)
		assert_int_equal(out[i], 0);

	/* exactly the remaining bytes succeed */
	w = wire_reader(buf, 4);
	wire_read_bytes(&w, out, 4);
	assert_int_equal(wire_err(&w), 0);
	assert_int_equal(out[3], 0xff);
}

static void sticky_error(void **state)
{
	const uint8_t buf[4] = { 1, 2, 3, 4 };
	struct wire w = wire_reader(buf, sizeof(buf));

	wire_skip(&w, 5);
	assert_int_equal(wire_err(&w), -EBADMSG);
	/* later reads that would fit still fail and yield 0 */
	assert_int_equal(wire_read_u8(&w), 0);
	assert_int_equal(wire_read_u16(&w), 0);
	assert_null(wire_read_ref(&w, 1));
	assert_int_equal(wire_offset(&w), 0);
}

static void skip_and_ref(void **state)
{
	const uint8_t buf[6] = { 1, 2, 3, 4, 5, 6 };
	struct wire w = wire_reader(buf, sizeof(buf));
	const uint8_t *p;

	wire_skip(&w, 2);
	p = wire_read_ref(&w, 4);
	assert_ptr_equal(p, buf + 2);
	assert_int_equal(wire_avail(&w), 0);
	assert_null(wire_read_ref(&w, 1));
	assert_int_equal(wire_err(&w), -EBADMSG);

	w = wire_reader(buf, sizeof(buf));
	wire_skip(&w, 6);
	assert_int_equal(wire_err(&w), 0);
	assert_int_equal(wire_peek_u8(&w), 0);
	assert_int_equal(wire_err(&w), -EBADMSG);
}

static void seek_bounds(void **state)
{
	const uint8_t buf[4] = { 10, 20, 30, 40 };
	struct wire w = wire_reader(buf, sizeof(buf));

	wire_seek(&w, 4);	/* the end itself is a valid position */
	assert_int_equal(wire_err(&w), 0);
	assert_int_equal(wire_avail(&w), 0);
	wire_seek(&w, 2);
	assert_int_equal(wire_read_u8(&w), 30);
	wire_seek(&w, 5);	/* one past the end is not */
	assert_int_equal(wire_err(&w), -EBADMSG);
}

static void sub_cursor(void **state)
{
	const uint8_t buf[8] = { 0, 3, 'a', 'b', 'c', 7, 8, 9 };
	struct wire w = wire_reader(buf, sizeof(buf)), s;
	uint16_t len = wire_read_u16(&w);

	s = wire_sub(&w, len);
	assert_int_equal(wire_err(&s), 0);
	assert_int_equal(wire_read_u8(&s), 'a');
	wire_skip(&s, 2);
	assert_int_equal(wire_read_u8(&s), 0);	/* end of the sub-cursor, not of the buffer */
	assert_int_equal(wire_err(&s), -EBADMSG);
	assert_int_equal(wire_err(&w), 0);	/* the parent is unaffected */
	assert_int_equal(wire_read_u8(&w), 7);
	assert_int_equal(wire_offset(&s), 5);	/* offsets stay absolute */

	/* a sub-cursor longer than what remains fails both */
	w = wire_reader(buf, sizeof(buf));
	wire_skip(&w, 6);
	s = wire_sub(&w, 3);
	assert_int_equal(wire_err(&w), -EBADMSG);
	assert_int_equal(wire_err(&s), -EBADMSG);
	assert_int_equal(wire_avail(&s), 0);

	/* exactly what remains succeeds */
	w = wire_reader(buf, sizeof(buf));
	wire_skip(&w, 6);
	s = wire_sub(&w, 2);
	assert_int_equal(wire_err(&s), 0);
	assert_int_equal(wire_avail(&s), 2);
	assert_int_equal(wire_avail(&w), 0);
}

static void write_exact_and_past(void **state)
{
	uint8_t buf[15];
	struct wire w = wire_writer(buf, sizeof(buf));

	wire_write_u8(&w, 1);
	wire_write_u16(&w, 0x0203);
	wire_write_u32(&w, 0x04050607);
	wire_write_u64(&w, 0x08090a0b0c0d0e0fULL);
	assert_int_equal(wire_err(&w), 0);
	assert_int_equal(wire_offset(&w), 15);
	for (int i = 0; i < 15; i++)
		assert_int_equal(buf[i], i + 1);
	wire_write_u8(&w, 0xee);
	assert_int_equal(wire_err(&w), -ENOSPC);

	/* a u32 into three bytes writes nothing */
	memset(buf, 0xaa, sizeof(buf));
	w = wire_writer(buf, 3);
	wire_write_u32(&w, 0x01020304);
	assert_int_equal(wire_err(&w), -ENOSPC);
	assert_int_equal(buf[0], 0xaa);
	assert_int_equal(wire_offset(&w), 0);

	w = wire_writer(buf, 7);
	wire_write_u64(&w, 1);
	assert_int_equal(wire_err(&w), -ENOSPC);
	assert_int_equal(buf[0], 0xaa);

	w = wire_writer(buf, 4);
	wire_write_bytes(&w, "abcde", 5);
	assert_int_equal(wire_err(&w), -ENOSPC);
	w = wire_writer(buf, 5);
	wire_write_bytes(&w, "abcde", 5);
	assert_int_equal(wire_err(&w), 0);
	wire_write_zero(&w, 1);
	assert_int_equal(wire_err(&w), -ENOSPC);
}

static void write_to_reader_fails(void **state)
{
	uint8_t buf[4] = { 0 };
	struct wire w = wire_reader(buf, sizeof(buf));

	wire_write_u8(&w, 1);
	assert_int_equal(wire_err(&w), -EROFS);
	assert_int_equal(buf[0], 0);
}

static void reserve_and_patch(void **state)
{
	uint8_t buf[8];
	struct wire w = wire_writer(buf, sizeof(buf));
	size_t off = wire_reserve(&w, 2);

	wire_write_u16(&w, 0xbeef);
	wire_patch_u16(&w, off, 2);
	assert_int_equal(wire_err(&w), 0);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 2);

	/* patching bytes not yet written is refused: offset 3 has one written byte after it */
	wire_patch_u16(&w, 3, 1);
	assert_int_equal(wire_err(&w), -ENOSPC);

	w = wire_writer(buf, sizeof(buf));
	off = wire_reserve(&w, 4);
	wire_patch_u32(&w, off, 0x11223344);
	assert_int_equal(wire_err(&w), 0);
	assert_int_equal(buf[0], 0x11);
	assert_int_equal(buf[3], 0x44);
	wire_patch_u32(&w, 1, 0);	/* would cover byte 4, not written */
	assert_int_equal(wire_err(&w), -ENOSPC);
}

static void null_buffer(void **state)
{
	struct wire w = wire_reader(NULL, 10);

	assert_int_equal(wire_avail(&w), 0);
	assert_int_equal(wire_read_u8(&w), 0);
	assert_int_equal(wire_err(&w), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(read_exact_fit),
		cmocka_unit_test(read_one_past),
		cmocka_unit_test(sticky_error),
		cmocka_unit_test(skip_and_ref),
		cmocka_unit_test(seek_bounds),
		cmocka_unit_test(sub_cursor),
		cmocka_unit_test(write_exact_and_past),
		cmocka_unit_test(write_to_reader_fails),
		cmocka_unit_test(reserve_and_patch),
		cmocka_unit_test(null_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
