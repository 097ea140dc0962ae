"""The figures fixture in a real database: /stats, the chart, the 督办 buttons and the workbook,
as supervisors of one city and of the province see them."""

from __future__ import annotations

import io

import openpyxl
import pytest
from PIL import Image

from domain.calendar import WorkingCalendar
from domain.figures import Dimension, figures_by
from handlers.core import Core
from handlers.usecases.figures import figure_rows
from handlers.usecases.scope import enterprises_covered
from storage.models import Person
from tests.figures_fixture import TODAY, StoredFixture, store_fixture
from tests.support import Chat

HANGZHOU_NAMES = ("王丽", "陈刚", "杭州")
NINGBO_NAMES = ("李强", "赵敏")


async def stored(core: Core) -> StoredFixture:
    async with core.sessions() as session, session.begin():
        return await store_fixture(session, core.clock.now())


async def bind(core: Core, user: str, code: str) -> Chat:
    chat = Chat(core, user)
    assert "绑定成功" in (await chat.send(f"/start {code}"))[0].text
    return chat


async def test_rows_from_the_database_give_the_hand_computed_figures(any_core: Core) -> None:
    """Local days from UTC instants (a 07:30 Shanghai mark is the previous day in UTC)."""
    fixture = await stored(any_core)
    async with any_core.sessions() as session:
        supervisor = await session.get(Person, fixture.supervisors["省局"][0])
        assert supervisor is not None
        from handlers.usecases.people import actor_of

        scope = enterprises_covered(actor_of(supervisor))
        reports, commitments = await figure_rows(session, scope, any_core.tz)
    assert (len(reports), len(commitments)) == (60, 80)
    cities = {
        g.label: g
        for g in figures_by(Dimension.CITY, reports, commitments, WorkingCalendar(), TODAY)
    }
    hangzhou = cities["杭州市"]
    assert (
        hangzhou.received,
        hangzhou.median_days_to_accept,
        hangzhou.median_days_to_resolve,
        hangzhou.confirmed,
        hangzhou.reopened,
    ) == (20, 2, 5, 9, 2)
    assert (hangzhou.bureau.due, hangzhou.bureau.on_time, hangzhou.bureau.late) == (13, 7, 3)
    assert (cities["宁波市"].enterprise.overdue, cities["温州市"].bureau.late) == (7, 3)


class TestCitySupervisor:
    async def test_stats_names_who_is_late_in_their_city_only(self, core: Core) -> None:
        fixture = await stored(core)
        lead = await bind(core, "ningbo-lead", fixture.supervisors["宁波市"][1])
        replies = await lead.send("/stats")
        text = replies[0].text
        assert "按帮扶责任人" in text
        assert "李强：报告10件，受理中位2个工作日，解决中位8个工作日，企业确认解决83%" in text
        assert "局方承诺：应办6，按期1，逾期完成0，现逾期5；企业承诺：应办8，按期1" in text
        assert not any(name in text for name in HANGZHOU_NAMES + ("周杰", "温州"))
        assert "· 计量：报告8件，受理中位1，解决中位4个工作日，确认解决88%" in text
        assert (
            "· 2026-10：报告3件，受理中位0，解决中位5个工作日，确认解决100%"
            "；承诺应办5，按期3，逾期完成2，现逾期0"
        ) in text
        # The 督办 list: 李强 first (8 items), then 宁波北仑 (4), 宁波海曙 (3), 赵敏 (1).
        board = [b.label for b in replies[0].all_buttons()]
        assert board == ["1. 李强", "2. 宁波北仑", "3. 宁波海曙", "4. 赵敏"]
        assert (
            "1. 李强（帮扶责任人，宁波市）：局方逾期承诺5项，未受理报告3件，最早2026-11-02" in text
        )

        chart = replies[1].file
        assert chart is not None and chart.mime_type == "image/png"
        image = Image.open(io.BytesIO(chart.content))
        image.load()
        assert image.format == "PNG" and 600 <= image.width <= 2000 and 300 <= image.height <= 1500
        described = image.info["Description"]
        assert "李强" in described and "赵敏" in described
        assert not any(name in described for name in HANGZHOU_NAMES + ("周杰",))

    async def test_a_board_button_opens_the_items_and_payloads_carry_no_authority(
        self, core: Core
    ) -> None:
        fixture = await stored(core)
        lead = await bind(core, "ningbo-lead", fixture.supervisors["宁波市"][1])
        await lead.send("/stats")
        opened = (await lead.press("1. 李强"))[0]
        assert opened.title == "督办：李强"
        assert opened.text.count("尚未受理") == 3 and opened.text.count("已逾期") == 5
        assert "承诺#" in opened.text and "截止2026-11-02，已逾期28天" in opened.text
        report_button = opened.all_buttons()[0]
        assert report_button.payload.startswith("rep:view:")
        assert (await lead.press(report_button.payload))[0].title == report_button.label
        firm = (await lead.press(f"st:ent:{fixture.enterprises[106]}"))[0]
        assert firm.title == "督办：宁波北仑" and firm.text.count("已逾期") == 4
        # Another city's officer and enterprise read as nothing to show; forged ids too.
        other = f"st:off:{fixture.officers[1]}"
        assert "没有逾期事项" in (await lead.press(other))[0].text
        assert "没有逾期事项" in (await lead.press(f"st:ent:{fixture.enterprises[101]}"))[0].text
        assert "按钮无效" in (await lead.press("st:off:²"))[0].text
        assert "按钮无效" in (await lead.press("st:off:" + "9" * 20))[0].text
        officer = await bind(core, "officer", await _officer_code(core, fixture.officers[3]))
        assert "没有权限" in (await officer.press(f"st:off:{fixture.officers[3]}"))[0].text

    async def test_workbook_has_their_city_only(self, core: Core) -> None:
        fixture = await stored(core)
        lead = await bind(core, "ningbo-lead", fixture.supervisors["宁波市"][1])
        reply = (await lead.send("/export"))[0]
        assert reply.file is not None
        book = openpyxl.load_workbook(io.BytesIO(reply.file.content))
        assert book.sheetnames == [
            "问题报告",
            "承诺事项",
            "履约统计",
            "按城市",
            "按责任人",
            "按服务领域",
            "按月份",
            "督办",
        ]
        cities = [row[0] for row in book["按城市"].iter_rows(min_row=2, values_only=True)]
        assert cities == ["宁波市"]
        officers = {row[0]: row for row in book["按责任人"].iter_rows(min_row=2, values_only=True)}
        assert set(officers) == {"李强", "赵敏"}
        # received, median accept, median resolve, closed, confirmed share, rating, reopened,
        # then the bureau's and the enterprise's due / on time / late / overdue / fulfilment.
        assert officers["赵敏"][1:8] == (10, 1, 4, 7, pytest.approx(6 / 7), 4, 0)
        assert officers["赵敏"][8:12] == (5, 2, 2, 1)
        board = [row[1] for row in book["督办"].iter_rows(min_row=2, values_only=True)]
        assert board == ["李强", "宁波北仑", "宁波海曙", "赵敏"]
        everything = " ".join(
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
        )
        assert not any(name in everything for name in HANGZHOU_NAMES + ("周杰", "温州"))
        for sheet in book.worksheets:
            assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref, sheet.title
        # Real date cells, not text.
        submitted = book["问题报告"].cell(2, 8)
        assert submitted.is_date and submitted.value.hour == 16
        assert book["督办"].cell(2, 6).is_date


async def test_province_sees_every_city(core: Core) -> None:
    fixture = await stored(core)
    province = await bind(core, "province", fixture.supervisors["省局"][1])
    replies = await province.send("/stats")
    text = replies[0].text
    assert "按城市" in text
    assert all(f"{city}：报告20件" in text for city in ("杭州市", "宁波市", "温州市"))
    assert len(replies[0].all_buttons()) == 10  # the first ten of the eleven 督办 rows
    described = Image.open(io.BytesIO(replies[1].file.content)).info["Description"]  # type: ignore[union-attr]
    assert all(city in described for city in ("杭州市", "宁波市", "温州市"))


async def _officer_code(core: Core, person_id: int) -> str:
    from sqlalchemy import select

    from storage.models import BindingCode

    async with core.sessions() as session:
        code = await session.scalar(
            select(BindingCode.code).where(BindingCode.person_id == person_id)
        )
        assert code is not None
        return code
