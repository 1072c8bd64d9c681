"""Pieces of the main window's layout that are made the same way more than once."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QGroupBox, QLabel, QRadioButton, QScrollArea, QWidget

from desktop.window.flow_layout import FlowLayout


def quiet_label(object_name: str = "") -> QLabel:
    """A wrapping notice, hidden until it has something to say.

    Mouse-selectable labels take click focus, and AT-SPI listed them as focusable objects with no
    name while empty; they are said aloud when shown, so no focus at all."""
    label = QLabel()
    if object_name:
        label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    label.hide()
    return label


def flow_row(widgets: list[QWidget]) -> FlowLayout:
    """A row that wraps onto new lines rather than clip at large text sizes."""
    row = FlowLayout()
    for widget in widgets:
        row.addWidget(widget)
    return row


def detail_choice(details: Sequence[str], chosen: Callable[[str], None],
                  parent: QWidget) -> tuple[QGroupBox, QButtonGroup, dict[str, QRadioButton]]:
    """The detail level radio buttons; `chosen(detail)` when one is checked. Their text, name
    and keys come from the detail levels' actions (actions.show_keys)."""
    # Named once: a titled group box is read twice by Orca ("Detail level panel. Detail level.",
    # the panel and then the radio group's label); an untitled one with a visible label, once.
    box = QGroupBox()
    box.setAccessibleName("Detail level")
    box.setFlat(True)
    row = FlowLayout(box)
    row.addWidget(QLabel("Detail level:"))
    group = QButtonGroup(parent)
    radios: dict[str, QRadioButton] = {}
    for detail in details:
        radio = QRadioButton()
        radio.toggled.connect(lambda on, d=detail: on and chosen(d))
        group.addButton(radio)
        radios[detail] = radio
        row.addWidget(radio)
    return box, group, radios


def scrolling(body: QWidget) -> QScrollArea:
    """At 300% text on a small screen, scroll rather than clip."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(body)
    scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return scroll
