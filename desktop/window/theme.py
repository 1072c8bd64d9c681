"""Colours, text size and focus rings.

Every Lumen palette keeps text at 7:1 contrast or more against its background (WCAG AAA),
focus is a thick ring in a colour that also reaches 7:1, and sizes are in em so that text from
100% to 300% grows the controls with it instead of clipping. "system" follows the desktop's
light/dark scheme and switches to high contrast when the desktop asks for it.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle


@dataclass(frozen=True)
class Scheme:
    name: str
    window: str
    text: str
    base: str
    alt_base: str
    button: str
    highlight: str
    highlighted_text: str
    focus: str
    muted: str  # disabled and secondary text: still 7:1, low-vision users read it too
    warning: str  # "This may be wrong" text

    def pairs(self) -> dict[str, tuple[str, str]]:
        """Foreground/background pairs that must reach 7:1."""
        return {
            "text on window": (self.text, self.window),
            "text on base": (self.text, self.base),
            "text on alternate base": (self.text, self.alt_base),
            "button text": (self.text, self.button),
            "highlighted text": (self.highlighted_text, self.highlight),
            "focus ring on window": (self.focus, self.window),
            "focus ring on base": (self.focus, self.base),
            "muted text on window": (self.muted, self.window),
            "warning on window": (self.warning, self.window),
            "warning on base": (self.warning, self.base),
        }


SCHEMES: dict[str, Scheme] = {
    "light": Scheme("light", "#f3f3f3", "#111111", "#ffffff", "#e9eef6", "#e4e4e4",
                    "#0b3d91", "#ffffff", "#0b3d91", "#3d3d3d", "#7a2e00"),
    "dark": Scheme("dark", "#1a1a1a", "#f2f2f2", "#0f0f0f", "#232a33", "#2b2b2b",
                   "#a8d1ff", "#000000", "#ffd54a", "#cfcfcf", "#ffc27a"),
    "high-contrast": Scheme("high-contrast", "#000000", "#ffffff", "#000000", "#000000",
                            "#000000", "#ffff00", "#000000", "#ffff00", "#ffffff", "#ffff00"),
    "high-contrast-light": Scheme("high-contrast-light", "#ffffff", "#000000", "#ffffff",
                                  "#ffffff", "#ffffff", "#00007a", "#ffffff", "#00007a",
                                  "#000000", "#6b0000"),
}


def _luminance(color: str) -> float:
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    q = QColor(color)
    return 0.2126 * channel(q.red()) + 0.7152 * channel(q.green()) + 0.0722 * channel(q.blue())


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio, 1.0 to 21.0."""
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def system_wants_high_contrast() -> bool:
    hints = QGuiApplication.styleHints()
    try:
        return hints.accessibility().contrastPreference() == Qt.ContrastPreference.HighContrast
    except AttributeError:  # Qt before 6.10 does not say
        return False


def resolve_scheme(theme: str) -> Scheme:
    """The scheme for a Settings.theme value; "system" follows the desktop."""
    if theme in SCHEMES:
        return SCHEMES[theme]
    dark = QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark
    if system_wants_high_contrast():
        return SCHEMES["high-contrast" if dark else "high-contrast-light"]
    return SCHEMES["dark" if dark else "light"]


def build_palette(s: Scheme) -> QPalette:
    p = QPalette()
    c = QColor
    roles = QPalette.ColorRole
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        p.setColor(group, roles.Window, c(s.window))
        p.setColor(group, roles.WindowText, c(s.text))
        p.setColor(group, roles.Base, c(s.base))
        p.setColor(group, roles.AlternateBase, c(s.alt_base))
        p.setColor(group, roles.Text, c(s.text))
        p.setColor(group, roles.Button, c(s.button))
        p.setColor(group, roles.ButtonText, c(s.text))
        p.setColor(group, roles.ToolTipBase, c(s.base))
        p.setColor(group, roles.ToolTipText, c(s.text))
        p.setColor(group, roles.PlaceholderText, c(s.muted))
        p.setColor(group, roles.Highlight, c(s.highlight))
        p.setColor(group, roles.HighlightedText, c(s.highlighted_text))
        p.setColor(group, roles.Link, c(s.focus))
        p.setColor(group, roles.BrightText, c(s.warning))
    dis = QPalette.ColorGroup.Disabled
    for role, value in ((roles.Window, s.window), (roles.Base, s.base), (roles.Button, s.button)):
        p.setColor(dis, role, c(value))
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(dis, role, c(s.muted))
    return p


def stylesheet(s: Scheme) -> str:
    """Borders and focus rings; em units so everything grows with the text."""
    notice = s.text if s.warning == s.focus else s.warning  # a notice must not look focused
    return f"""
QPushButton, QToolButton {{
    background: {s.button}; color: {s.text}; border: 0.12em solid {s.muted};
    border-radius: 0.3em; padding: 0.35em 0.9em; min-height: 1.4em;
}}
QPushButton:hover, QToolButton:hover {{ border-color: {s.text}; }}
QPushButton:disabled {{ color: {s.muted}; border-style: dashed; }}
QPushButton:focus, QToolButton:focus, QLineEdit:focus, QListWidget:focus, QPlainTextEdit:focus,
QTextBrowser:focus, QTabBar::tab:focus, #dropZone:focus {{
    border: 0.2em solid {s.focus};
}}
QCheckBox:focus, QRadioButton:focus {{ background: {s.highlight}; color: {s.highlighted_text}; }}
QLineEdit {{ background: {s.base}; border: 0.12em solid {s.muted}; padding: 0.2em 0.4em; }}
QComboBox QAbstractItemView {{ background: {s.base}; selection-background-color: {s.highlight};
    selection-color: {s.highlighted_text}; }}
QListWidget, QPlainTextEdit, QTextBrowser {{
    background: {s.base}; border: 0.12em solid {s.muted}; padding: 0.3em;
    selection-background-color: {s.highlight}; selection-color: {s.highlighted_text};
}}
#dropZone {{
    background: {s.alt_base}; border: 0.15em dashed {s.muted}; border-radius: 0.6em;
}}
#dropZone[dragging="true"] {{ border: 0.2em solid {s.focus}; }}
QLabel#warning {{ color: {s.warning}; }}
QGroupBox {{ border: 0.12em solid {s.muted}; border-radius: 0.4em; margin-top: 0.8em;
    padding: 0.5em 0.4em 0.1em 0.4em; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 0.6em; padding: 0 0.3em; color: {s.text}; }}
QLabel#thumbnail {{ border: 0.12em solid {s.muted}; background: {s.base}; padding: 0.2em; }}
QLabel#notice {{ color: {s.text}; background: {s.alt_base}; border: 0.12em solid {notice};
    border-radius: 0.3em; padding: 0.4em; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {s.highlight}; color: {s.highlighted_text}; }}
QMenu {{ border: 0.12em solid {s.muted}; }}
QMenu::item {{ padding: 0.25em 1.2em; }}
QStatusBar {{ color: {s.text}; }}
"""


_BASE_POINT_SIZE: float | None = None
_INDICATORS = (
    QStyle.PixelMetric.PM_IndicatorWidth, QStyle.PixelMetric.PM_IndicatorHeight,
    QStyle.PixelMetric.PM_ExclusiveIndicatorWidth, QStyle.PixelMetric.PM_ExclusiveIndicatorHeight,
)

_LABEL_SPACING = (QStyle.PixelMetric.PM_RadioButtonLabelSpacing, QStyle.PixelMetric.PM_CheckBoxLabelSpacing)


class LumenStyle(QProxyStyle):
    """Fusion, with check boxes and radio buttons that grow with the text."""

    def __init__(self) -> None:
        super().__init__("Fusion")
        self.focus = self.border = QColor("#0b3d91")  # set by apply_theme

    def drawComplexControl(self, control, option, painter, widget=None) -> None:  # noqa: ANN001
        """Combo and spin boxes keep Fusion's drawing (arrows included) plus a thick focus ring."""
        super().drawComplexControl(control, option, painter, widget)
        if control not in (QStyle.ComplexControl.CC_ComboBox, QStyle.ComplexControl.CC_SpinBox):
            return
        # Fusion's outline is a shade of the window colour: invisible on black. Draw our own.
        focused = bool(option.state & QStyle.StateFlag.State_HasFocus)
        width = max(2.0, option.rect.height() / (12 if focused else 20))
        painter.save()
        painter.setPen(QPen(self.focus if focused else self.border, width))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(option.rect).adjusted(width / 2, width / 2, -width / 2, -width / 2))
        painter.restore()

    def pixelMetric(self, metric: QStyle.PixelMetric, option=None, widget=None) -> int:  # noqa: ANN001
        base = super().pixelMetric(metric, option, widget)
        if metric in _INDICATORS or metric in _LABEL_SPACING:
            font = widget.font() if widget is not None else QApplication.font()
            share = 0.8 if metric in _INDICATORS else 0.35
            return max(base, round(QFontMetrics(font).height() * share))
        return base

    def drawPrimitive(self, element, option, painter, widget=None) -> None:  # noqa: ANN001
        """Check boxes and radio buttons in the text colour, thick enough to see at any contrast."""
        radio = element == QStyle.PrimitiveElement.PE_IndicatorRadioButton
        if not radio and element != QStyle.PrimitiveElement.PE_IndicatorCheckBox:
            super().drawPrimitive(element, option, painter, widget)
            return
        fg = option.palette.color(QPalette.ColorRole.Text)
        bg = option.palette.color(QPalette.ColorRole.Base)
        box = QRectF(option.rect).adjusted(1, 1, -1, -1)
        side = min(box.width(), box.height())
        box = QRectF(box.center().x() - side / 2, box.center().y() - side / 2, side, side)
        pen = max(1.5, side / 9)
        inner = box.adjusted(side * 0.27, side * 0.27, -side * 0.27, -side * 0.27)
        on = bool(option.state & QStyle.StateFlag.State_On)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(fg, pen))
        painter.setBrush(bg)
        if radio:
            painter.drawEllipse(box)
            if on:
                painter.setBrush(fg)
                painter.drawEllipse(inner)
        else:
            painter.drawRoundedRect(box, side / 8, side / 8)
            painter.setPen(QPen(fg, pen * 1.3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            middle = inner.center().y()
            if on:
                painter.drawPolyline([QPointF(inner.left(), middle),
                                      QPointF(inner.left() + inner.width() * 0.4, inner.bottom()),
                                      QPointF(inner.right(), inner.top())])
            elif option.state & QStyle.StateFlag.State_NoChange:
                painter.drawLine(QPointF(inner.left(), middle), QPointF(inner.right(), middle))
        painter.restore()


def apply_theme(app: QApplication, theme: str, text_scale: int) -> Scheme:
    """Apply colours and text size to the whole app; returns the scheme in use."""
    global _BASE_POINT_SIZE
    if _BASE_POINT_SIZE is None:
        size = app.font().pointSizeF()
        _BASE_POINT_SIZE = size if size > 0 else 10.0
    scheme = resolve_scheme(theme)
    if not isinstance(app.style(), LumenStyle):
        app.setStyle(LumenStyle())  # native Windows/macOS styles ignore parts of the palette
    app.style().focus, app.style().border = QColor(scheme.focus), QColor(scheme.muted)
    app.setPalette(build_palette(scheme))
    app.setStyleSheet(stylesheet(scheme))
    font = QFont(app.font())
    font.setPointSizeF(_BASE_POINT_SIZE * text_scale / 100)
    app.setFont(font)
    # With an application style sheet, widgets that already exist keep their old font: give
    # it to them directly (widgets with a size of their own set it again afterwards).
    for widget in app.allWidgets():
        widget.setFont(font)
    return scheme
