"""The registers through the real core and database: registering in the chat (photo read by
OCR, or typed), reminders at each threshold exactly once, and the import."""

from __future__ import annotations

import asyncio
import io
import random
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.registers import RegisterKind
from handlers.core import Core
from handlers.messages import Reply
from handlers.ocr import RapidOcrReader
from handlers.usecases.bulk_import import ImportRowError, import_rows
from handlers.usecases.export import build_workbook
from handlers.usecases.people import actor_of, bind
from handlers.usecases.registers import RegisterDraft, add_entry
from handlers.usecases.scope import enterprises_covered
from storage.models import (
    Attachment,
    Certificate,
    Enterprise,
    Instrument,
    OutboxMessage,
    Person,
)
from tests.conftest import World
from tests.fakes.certificates import cjk_font_path, render_certificate, sample_fields
from tests.integration.test_reminders import at, run_sweep
from tests.support import Chat

needs_cjk_font = pytest.mark.skipif(
    cjk_font_path() is None,
    reason="no CJK font installed (apt-get install fonts-noto-cjk): certificate photos "
    "cannot be drawn, so the OCR tests are skipped",
)


def cjk_free_photo() -> bytes:
    """A photo with nothing to read (no font needed)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (240, 240, 240)).save(buffer, format="PNG")
    return buffer.getvalue()


async def staff_chat(core: Core, world: World, user: str = "staff") -> Chat:
    chat = Chat(core, user)
    assert "绑定成功" in (await chat.send(f"/start {world.enterprise[1]}"))[0].text
    return chat


async def register_messages(core: Core, person_id: int | None = None) -> list[Reply]:
    async with core.sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == "register")
        if person_id is not None:
            query = query.where(OutboxMessage.person_id == person_id)
        rows = await session.scalars(query.order_by(OutboxMessage.id))
        return [Reply.from_json(row.message) for row in rows]


class TestRegisteringInTheChat:
    @needs_cjk_font
    async def test_a_photographed_certificate_is_read_confirmed_and_kept_as_evidence(
        self, core: Core, world: World
    ) -> None:
        assert core.certificate_reader is not None, "rapidocr-onnxruntime is a test dependency"
        fields = sample_fields(random.Random(14))
        chat = await staff_chat(core, world)
        listing = (await chat.send("/instruments"))[0]
        assert "还没有登记计量器具" in listing.text
        await chat.press("➕ 登记")
        read = (await chat.send_file(render_certificate(fields), "cert.jpg", "image/jpeg"))[-1]
        for expected in (fields.number, fields.serial, fields.valid_until.isoformat()):
            assert expected in read.text, read.text
        assert "确认" in [button.label for row in read.buttons for button in row]
        done = (await chat.press("确认"))[-1]
        assert "已登记计量器具" in done.text and fields.valid_until.isoformat() in done.text
        async with core.sessions() as session:
            instrument = (await session.scalars(select(Instrument))).one()
            assert instrument.serial_number == fields.serial
            assert instrument.certificate_number == fields.number
            assert instrument.name == fields.instrument
            assert instrument.verified_on == fields.verified_on
            evidence = await session.get(Attachment, instrument.evidence_id)
            assert evidence is not None and evidence.mime_type == "image/jpeg"
        assert fields.serial in (await chat.send("/instruments"))[0].text

    @needs_cjk_font
    async def test_reading_a_photo_holds_back_no_other_chat(self, core: Core, world: World) -> None:
        chat = await staff_chat(core, world)
        other = Chat(core, "officer")
        await other.send(f"/start {world.officer[1]}")
        await chat.press("reg:add:instrument")
        photo = render_certificate(sample_fields(random.Random(7)), layout="inline")
        reading = asyncio.create_task(chat.send_file(photo, "cert.jpg", "image/jpeg"))
        await asyncio.sleep(0)  # the photo's turn starts and its OCR begins
        # On SQLite turns run one at a time: the officer is answered while the photo is read.
        assert "/inbox" in (await other.send("/help"))[0].text
        assert not reading.done()
        assert "识别到" in (await reading)[-1].text

    async def test_a_photo_not_read_in_time_is_kept_and_the_fields_are_asked_for(
        self, core: Core, world: World
    ) -> None:
        core.certificate_reader = RapidOcrReader(timeout_seconds=0.001)
        chat = await staff_chat(core, world)
        await chat.press("reg:add:instrument")
        image = cjk_free_photo()
        replies = await chat.send_file(image, "cert.png", "image/png")
        assert "照片识别未能完成" in replies[0].text and "照片已保存" in replies[0].text
        assert "计量器具名称" in replies[-1].text
        async with core.sessions() as session:
            assert (await session.scalars(select(Attachment))).one().size == len(image)

    async def test_typed_fields_with_a_cycle_and_a_correction(
        self, core: Core, world: World
    ) -> None:
        chat = await staff_chat(core, world)
        await chat.send("/instruments")
        await chat.press("➕ 登记")
        await chat.press("没有照片，手动填写")
        assert "有效期至" in (await chat.send("<b>压力表</b>"))[-1].text
        # Name asked first, then the last valid day; no verification date yet: a cycle is no date.
        reply = (await chat.send("12个月"))[-1]
        assert "没看懂这个日期" in reply.text
        await chat.press("reg:cancel")
        await chat.press("reg:add:instrument")
        await chat.press("reg:skip")
        await chat.send("压力表")
        summary = (await chat.send("2027年3月14日"))[-1]
        assert "2027-03-14" in summary.text and "<b>" not in summary.text
        await chat.press("修改")
        await chat.press("检定日期")
        await chat.send("2026-03-15")
        await chat.press("修改")
        await chat.press("有效期至")
        summary = (await chat.send("1年"))[-1]
        assert "2027-03-14" in summary.text
        await chat.press("确认")
        async with core.sessions() as session:
            instrument = (await session.scalars(select(Instrument))).one()
            assert (instrument.verified_on, instrument.valid_until) == (
                date(2026, 3, 15),
                date(2027, 3, 14),
            )
            assert instrument.cycle_months == 12

    async def test_renewal_after_a_verification_and_scope(self, core: Core, world: World) -> None:
        chat = await staff_chat(core, world)
        async with core.sessions() as session, session.begin():
            entry = await add_entry(
                session,
                None,
                world.enterprise[0],
                RegisterDraft(
                    RegisterKind.CERTIFICATE, name="ISO 9001", valid_until=date(2026, 12, 5)
                ),
                core.clock.now(),
            )
            entry.reminded_stage = "7"
            rival = await add_entry(
                session,
                None,
                world.other_enterprise[0],
                RegisterDraft(RegisterKind.CERTIFICATE, name="CCC", valid_until=date(2027, 1, 5)),
                core.clock.now(),
            )
        listing = (await chat.send("/certificates"))[0]
        assert "ISO 9001" in listing.text and "还有 5 天" in listing.text
        # Another enterprise's entry cannot be renewed by a forged payload.
        refused = (await chat.press(f"reg:upd:certificate.{rival.id}"))[-1]
        assert "找不到该记录" in refused.text
        await chat.press(f"更新 #{entry.id}（新检定/换证）")
        await chat.press("reg:skip")
        await chat.send("2029-12-04")
        done = (await chat.press("确认"))[-1]
        assert "已更新" in done.text and "2029-12-04" in done.text
        async with core.sessions() as session:
            renewed = await session.get(Certificate, entry.id)
            assert renewed is not None
            assert (renewed.expires_on, renewed.reminded_stage) == (date(2029, 12, 4), None)

    async def test_officers_see_overdue_counts_per_enterprise(
        self, core: Core, world: World
    ) -> None:
        today = core.today()
        async with core.sessions() as session, session.begin():
            for days in (-3, -1, 40):
                await add_entry(
                    session,
                    None,
                    world.enterprise[0],
                    RegisterDraft(
                        RegisterKind.INSTRUMENT,
                        name=f"卡尺{days}",
                        valid_until=today + timedelta(days=days),
                    ),
                    core.clock.now(),
                )
        officer = Chat(core, "officer")
        await officer.send(f"/start {world.officer[1]}")
        counts = (await officer.send("/instruments"))[0]
        assert "杭州精工机械有限公司：3 台，超期未检 2 台" in counts.text
        listing = (await officer.press("杭州精工机械有限公司"))[-1]
        assert "卡尺-3" in listing.text and "已超期 3 天" in listing.text
        assert not [b for row in listing.buttons for b in row]  # the bureau reads, staff change
        other = Chat(core, "other")
        await other.send(f"/start {world.other_officer[1]}")
        assert "还没有登记" in (await other.send("/instruments"))[0].text


class TestReminders:
    async def test_instrument_due_within_30_days_then_overdue_each_once(
        self, any_core: Core, world_any: World
    ) -> None:
        core, world = any_core, world_any
        staff, officer = await _bind_staff_and_officer(core, world)
        monday = date(2026, 11, 30)
        async with core.sessions() as session, session.begin():
            await add_entry(
                session,
                None,
                world.enterprise[0],
                RegisterDraft(
                    RegisterKind.INSTRUMENT,
                    name="压力表",
                    serial_number="Z709067",
                    valid_until=monday + timedelta(days=20),
                ),
                core.clock.now(),
            )
        await run_sweep(core, at(monday))
        first = await register_messages(core, staff)
        assert len(first) == 1
        assert "压力表" in first[0].text and "还有 20 天" in first[0].text
        assert await register_messages(core, officer) == []
        # The next days (and a repeated sweep) remind nothing new until it is overdue.
        await run_sweep(core, at(monday))
        await run_sweep(core, at(monday + timedelta(days=1)))
        assert len(await register_messages(core, staff)) == 1
        overdue_day = monday + timedelta(days=21)  # Monday 2026-12-21
        await run_sweep(core, at(overdue_day))
        late = await register_messages(core, staff)
        assert len(late) == 2 and "已超期 1 天" in late[1].text
        to_officer = await register_messages(core, officer)
        assert len(to_officer) == 1 and "杭州精工机械有限公司" in to_officer[0].text
        await run_sweep(core, at(overdue_day + timedelta(days=1)))
        assert len(await register_messages(core)) == 3

    async def test_certificate_thresholds_90_30_7_and_expired_each_once(
        self, any_core: Core, world_any: World
    ) -> None:
        core, world = any_core, world_any
        staff, officer = await _bind_staff_and_officer(core, world)
        expires = date(2027, 6, 30)
        async with core.sessions() as session, session.begin():
            await add_entry(
                session,
                None,
                world.enterprise[0],
                RegisterDraft(RegisterKind.CERTIFICATE, name="CCC 认证", valid_until=expires),
                core.clock.now(),
            )
        seen: list[str] = []
        day = expires - timedelta(days=100)
        while day <= expires + timedelta(days=5):
            if core.calendar.is_working_day(day):
                await run_sweep(core, at(day))
            day += timedelta(days=1)
        for reply in await register_messages(core, staff):
            seen.append(reply.text)
        assert len(seen) == 4, seen
        # Each on the first working day at or after its threshold.
        assert [("已超期" in text) for text in seen] == [False, False, False, True]
        days_left = [int(text.split("还有 ")[1].split(" 天")[0]) for text in seen[:3]]
        assert 88 <= days_left[0] <= 90 and 28 <= days_left[1] <= 30 and 5 <= days_left[2] <= 7
        assert len(await register_messages(core, officer)) == 1


async def _bind_staff_and_officer(core: Core, world: World) -> tuple[int, int]:
    now = core.clock.now()
    async with core.sessions() as session, session.begin():
        staff = await bind(session, "test", "staff", "staff", world.enterprise[1], "员工", now)
        officer = await bind(session, "test", "officer", "officer", world.officer[1], "王丽", now)
        return staff.id, officer.id


@pytest.fixture
async def world_any(any_core: Core) -> World:
    from tests.conftest import build_world

    return await build_world(any_core)


class TestImport:
    async def test_instruments_certificates_and_industry_are_imported(
        self, core: Core, world: World
    ) -> None:
        rows = [
            (
                2,
                {
                    "type": "enterprise",
                    "ref": "valve",
                    "name": "温州阀门",
                    "city": "杭州市",
                    "officer": str(world.officer[0]),
                    "industry_code": "c3443",
                    "industry_name": "阀门和旋塞制造",
                },
            ),
            (
                3,
                {
                    "type": "instrument",
                    "enterprise": "valve",
                    "name": "压力表",
                    "model": "Y-100",
                    "serial": "A1",
                    "verified": "2026-03-31",
                    "cycle": "1个月",
                },
            ),
            (
                4,
                {
                    "type": "instrument",
                    "enterprise": str(world.enterprise[0]),
                    "name": "天平",
                    "valid_until": "2027-01-31",
                    "certificate_number": "JD-1",
                },
            ),
            (
                5,
                {
                    "type": "certificate",
                    "enterprise": "valve",
                    "name": "ISO 9001",
                    "certificate_number": "Q-7",
                    "body": "某认证公司",
                    "valid_until": "2027年5月1日",
                },
            ),
        ]
        async with core.sessions() as session, session.begin():
            result = await import_rows(session, rows, core.clock.now())
        assert result.registers == 3
        async with core.sessions() as session:
            gauge = (
                await session.scalars(select(Instrument).where(Instrument.serial_number == "A1"))
            ).one()
            assert gauge.valid_until == date(2026, 4, 30) and gauge.cycle_months == 1
            valve = (
                await session.scalars(select(Enterprise).where(Enterprise.name == "温州阀门"))
            ).one()
            assert (valve.industry_code, valve.industry_name) == ("C3443", "阀门和旋塞制造")
            certificate = (await session.scalars(select(Certificate))).one()
            assert certificate.expires_on == date(2027, 5, 1)

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            ({"type": "instrument", "enterprise": "1", "name": "表"}, "valid_until"),
            (
                {
                    "type": "instrument",
                    "enterprise": "1",
                    "name": "表",
                    "verified": "2026-01-01",
                    "cycle": "forever",
                },
                "cycle",
            ),
            (
                {"type": "certificate", "enterprise": "1", "name": "x", "valid_until": "soon"},
                "not a date",
            ),
            (
                {
                    "type": "enterprise",
                    "name": "E",
                    "city": "杭州市",
                    "officer": "3",
                    "industry_code": "Z99",
                },
                "GB/T 4754",
            ),
        ],
    )
    async def test_a_bad_row_keeps_nothing(
        self, core: Core, world: World, row: dict[str, str], message: str
    ) -> None:
        rows = [
            (
                2,
                {
                    "type": "instrument",
                    "enterprise": str(world.enterprise[0]),
                    "name": "好表",
                    "valid_until": "2027-01-01",
                },
            ),
            (3, row),
        ]
        with pytest.raises(ImportRowError) as raised:
            async with core.sessions() as session, session.begin():
                await import_rows(session, rows, core.clock.now())
        assert raised.value.row == 3 and message in str(raised.value.error)
        async with core.sessions() as session:
            assert (await session.scalars(select(Instrument))).all() == []


class TestFiguresPerCity:
    async def test_stats_and_workbook_count_overdue_instruments_per_city_in_scope(
        self, core: Core, world: World
    ) -> None:
        today = core.today()
        async with core.sessions() as session, session.begin():
            for enterprise_id, days in ((world.enterprise[0], -3), (world.enterprise[0], 40)):
                draft = RegisterDraft(
                    RegisterKind.INSTRUMENT, name="卡尺", valid_until=today + timedelta(days=days)
                )
                await add_entry(session, None, enterprise_id, draft, core.clock.now())
            expired = RegisterDraft(
                RegisterKind.CERTIFICATE, name="ISO 9001", valid_until=today - timedelta(days=1)
            )
            await add_entry(session, None, world.other_enterprise[0], expired, core.clock.now())
            firm = await session.get(Enterprise, world.enterprise[0])
            assert firm is not None
            firm.industry_code, firm.industry_name = "C3443", "阀门和旋塞制造"
        province = Chat(core, "province")
        await province.send(f"/start {world.province_supervisor[1]}")
        stats = (await province.send("/stats"))[0].text
        assert "· 杭州市：器具 2 台，超期未检 1；证书 0 张，已过期 0" in stats
        assert "· 宁波市：器具 0 台，超期未检 0；证书 1 张，已过期 1" in stats
        city = Chat(core, "city")
        await city.send(f"/start {world.city_supervisor[1]}")
        city_stats = (await city.send("/stats"))[0].text
        assert "杭州市：器具 2 台" in city_stats and "宁波市" not in city_stats
        async with core.sessions() as session:
            city_scope = enterprises_covered(actor_of(await person(session, world.city_supervisor)))
            book = load_workbook(
                io.BytesIO(await build_workbook(session, "zh_CN", core.tz, today, city_scope))
            )
        registers = [list(row) for row in book["台账"].iter_rows(values_only=True)]
        assert registers == [
            ["所属局", "计量器具", "超期未检", "认证证书", "已过期证书"],
            ["杭州市", 2, 1, 0, 0],
        ]
        fulfilment = book["履约统计"]
        header = [cell.value for cell in fulfilment[1]]
        row = [cell.value for cell in fulfilment[2]]
        assert row[header.index("行业")] == "C3443 阀门和旋塞制造"


async def person(session: AsyncSession, code: tuple[int, str]) -> Person:
    found = await session.get(Person, code[0])
    assert found is not None
    return found
