#include "charts/networkdiagram.h"

#include "core/activation.h"

#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>
#include <vector>

namespace initscope::ui {

namespace {
/// `n` in Unicode superscript digits (W⁵⁰).
QString superscript(int n) {
    static const char16_t digits[] =
        u"\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079";
    QString out;
    for (QChar c : QString::number(n))
        out += QChar(digits[c.digitValue()]);
    return out;
}

/// `n` in Unicode subscript digits (h₁₂).
QString subscript(int n) {
    QString out;
    for (QChar c : QString::number(n))
        out += QChar(static_cast<char16_t>(0x2080 + c.digitValue()));
    return out;
}

QString number(double v) {
    return QString::number(v, 'g', 3);
}

/// "256", or "64..512" with per-layer widths.
QString widthText(const NetworkSpec& s) {
    if (s.widths.empty())
        return QString::number(s.width);
    const auto [lo, hi] = std::minmax_element(s.widths.begin(), s.widths.end());
    return *lo == *hi ? QString::number(*lo) : QStringLiteral("%1..%2").arg(*lo).arg(*hi);
}

/// gamma as the block formula shows it: "0", "1", "0.316", with its rule where it has one.
QString gammaText(const NetworkSpec& s) {
    return number(residualGamma(s));
}

QString gammaRule(const NetworkSpec& s) {
    switch (s.residualScale) {
    case ResidualScale::InvSqrtDepth:
        return QStringLiteral(" (\u03b3 = 1/\u221aL)");
    case ResidualScale::Fixup:
        return QStringLiteral(" (Fixup)");
    case ResidualScale::Zero:
        return QStringLiteral(" (zero-\u03b3: the identity)");
    default:
        return {};
    }
}

QFont scaled(QFont f, double factor) {
    if (f.pointSizeF() > 0)
        f.setPointSizeF(std::max(7.0, f.pointSizeF() * factor));
    else
        f.setPixelSize(std::max(9, static_cast<int>(std::lround(f.pixelSize() * factor))));
    return f;
}

void arrow(QPainter& p, QPointF from, QPointF to) {
    p.drawLine(from, to);
    const double a = std::atan2(to.y() - from.y(), to.x() - from.x());
    const double len = 5, spread = 0.45;
    QPolygonF head;
    head << to << to - QPointF(len * std::cos(a - spread), len * std::sin(a - spread))
         << to - QPointF(len * std::cos(a + spread), len * std::sin(a + spread));
    p.save();
    p.setBrush(p.pen().color());
    p.drawPolygon(head);
    p.restore();
}

/// Which of 1..n are drawn: all of them up to `room`, else the first ones, a gap (0) and the
/// last.
std::vector<int> shownIndices(int n, int room) {
    std::vector<int> out;
    if (n <= room) {
        for (int i = 1; i <= n; ++i)
            out.push_back(i);
        return out;
    }
    for (int i = 1; i <= room - 2; ++i)
        out.push_back(i);
    out.push_back(0);
    out.push_back(n);
    return out;
}
} // namespace

NetworkDiagram::NetworkDiagram(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("networkDiagram"));
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
    setFixedHeight(sizeHint().height());
    setSpec(NetworkSpec{});
}

QString NetworkDiagram::describe(const NetworkSpec& s) {
    const QString trunk = describeTrunk(s);
    if (s.heads.empty())
        return trunk;
    QStringList heads;
    for (const HeadSpec& h : s.heads) {
        QStringList w;
        for (int x : h.widths)
            w << QString::number(x);
        heads << QStringLiteral("%1 %2").arg(QString::fromStdString(h.name),
                                             w.join(QLatin1Char(',')));
    }
    return tr("%1; heads: %2").arg(trunk, heads.join(QStringLiteral("; ")));
}

QString NetworkDiagram::describeTrunk(const NetworkSpec& s) {
    const QString act = QString::fromStdString(activationName(s.activation));
    if (s.arch == Arch::Resnet)
        return tr("resnet: %1 blocks of x + %2\u00b7F(x)%3, branch %4 layers of %5, %6")
            .arg(s.depth)
            .arg(gammaText(s), gammaRule(s))
            .arg(s.branchDepth)
            .arg(widthText(s), act);
    if (s.arch == Arch::Cnn)
        return tr("cnn: %1\u00d7%1\u00d7%2 images \u2192 %3 conv layers %4\u00d7%4 of %5 channels "
                  "(%6), %7")
            .arg(s.image)
            .arg(s.inputChannels)
            .arg(s.depth)
            .arg(s.kernel)
            .arg(s.channels)
            .arg(s.init == InitScheme::DeltaOrthogonal
                     ? tr("delta-orthogonal")
                     : tr("fan %1").arg(QString::fromStdString(convFanName(s.convFan))),
                 act);
    if (s.arch == Arch::Rnn)
        return tr("rnn: %1 time steps, %2 hidden units, x\u209c (%3) %4, W %5, %6")
            .arg(s.depth)
            .arg(s.width)
            .arg(s.inputDim)
            .arg(s.rnnInput == RnnInput::EveryStep ? tr("at every step") : tr("at t = 1 only"))
            .arg(s.recurrentInit == RecurrentInit::None ? tr("stacked with U")
                                                        : QString::fromStdString(recurrentInitName(
                                                              s.recurrentInit, s.recurrentScheme)))
            .arg(act);
    return tr("mlp: x (%1) \u2192 %2 layers of %3, %4")
        .arg(s.inputDim)
        .arg(s.depth)
        .arg(widthText(s), act);
}

void NetworkDiagram::setSpec(const NetworkSpec& spec) {
    spec_ = spec;
    const QString d = describe(spec);
    if (d == description_)
        return;
    description_ = d;
    setToolTip(d);
    setAccessibleName(tr("Network diagram"));
    setAccessibleDescription(d);
    update();
}

void NetworkDiagram::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QPalette pal = palette();
    const QFont caption = scaled(font(), 0.92);
    const QFontMetricsF cm(caption);
    const QRectF all = QRectF(rect()).adjusted(2, 2, -2, -2);
    const QRectF area = all.adjusted(0, 0, 0, -cm.height() - 2);
    p.setPen(pal.color(QPalette::Mid));
    p.setBrush(pal.color(QPalette::Base));
    p.drawRoundedRect(all, 4, 4);
    p.setFont(scaled(font(), 0.85));
    // heads: a column of their own at the right, fed by the trunk's last activation
    const double headsW = spec_.heads.empty() ? 0.0 : std::min(120.0, area.width() * 0.32);
    const QRectF trunkArea = area.adjusted(0, 0, -headsW, 0);
    if (spec_.arch == Arch::Resnet)
        paintResnet(p, trunkArea.adjusted(6, 5, -6, 0));
    else if (spec_.arch == Arch::Rnn)
        paintRnn(p, trunkArea.adjusted(6, 3, -6, 0));
    else
        paintMlp(p, trunkArea.adjusted(6, 3, -6, 0));
    if (headsW > 0)
        paintHeads(p, QRectF(trunkArea.right() - 4, area.top() + 2, headsW, area.height() - 2));
    p.setFont(caption);
    p.setPen(pal.color(QPalette::Text));
    const QRectF line(all.left() + 6, area.bottom(), all.width() - 12, cm.height() + 1);
    p.drawText(line, Qt::AlignCenter, cm.elidedText(description_, Qt::ElideRight, line.width()));
}

void NetworkDiagram::paintHeads(QPainter& p, const QRectF& area) const {
    const QPalette pal = palette();
    QColor fill = pal.color(QPalette::Link);
    fill.setAlpha(40);
    p.save();
    p.setFont(scaled(p.font(), 0.85));
    const QFontMetricsF fm(p.font());
    const int shown = std::min<int>(static_cast<int>(spec_.heads.size()), 4);
    const double rowH = area.height() / shown;
    const double boxH = std::min(rowH - 3, fm.height() + 4);
    const QPointF from(area.left(), area.center().y());
    p.setPen(pal.color(QPalette::Text));
    for (int i = 0; i < shown; ++i) {
        const HeadSpec& h = spec_.heads[static_cast<std::size_t>(i)];
        const double cy = area.top() + rowH * (i + 0.5);
        const QRectF box(area.left() + 18, cy - boxH / 2, area.width() - 20, boxH);
        arrow(p, from, QPointF(box.left() - 1, cy));
        p.setBrush(fill);
        p.drawRoundedRect(box, 3, 3);
        p.setBrush(Qt::NoBrush);
        QStringList w;
        for (int x : h.widths)
            w << QString::number(x);
        QString text =
            QString::fromStdString(h.name) + QStringLiteral(" ") + w.join(QLatin1Char(','));
        if (i == shown - 1 && static_cast<int>(spec_.heads.size()) > shown)
            text = tr("+%1 more heads").arg(static_cast<int>(spec_.heads.size()) - shown + 1);
        p.drawText(box.adjusted(2, 0, -2, 0), Qt::AlignCenter,
                   fm.elidedText(text, Qt::ElideRight, box.width() - 4));
    }
    p.restore();
}

void NetworkDiagram::paintMlp(QPainter& p, const QRectF& area) const {
    const QPalette pal = palette();
    const QColor ink = pal.color(QPalette::Text);
    QColor fill = pal.color(QPalette::Highlight);
    fill.setAlpha(45);
    const QFontMetricsF fm(p.font());
    const double midY = area.center().y();
    const double boxH = std::min(area.height() - 4, fm.height() * 1.7);
    // the input, the layers shown, the output: each a cell of the row
    const QString in = QStringLiteral("x");
    const QString out = QStringLiteral("a") + superscript(spec_.depth);
    const double endW = std::max(fm.horizontalAdvance(in), fm.horizontalAdvance(out)) + 6;
    // a cnn's layer is a kernel K^l (k x k x C_in x C) applied at every pixel
    const bool cnn = spec_.arch == Arch::Cnn;
    const QString weight = cnn ? QStringLiteral("K") : QStringLiteral("W");
    const QString widest = weight + superscript(spec_.depth) + QStringLiteral(" \u03c6");
    const double boxW = fm.horizontalAdvance(widest) + 12;
    const double gap = 16; // arrow between cells
    const int room = std::max(3, static_cast<int>((area.width() - 2 * endW - gap) / (boxW + gap)));
    const std::vector<int> shown = shownIndices(spec_.depth, std::min(room, 5));
    const double rowW = 2 * endW + static_cast<double>(shown.size()) * (boxW + gap) + gap;
    double x = area.left() + std::max(0.0, (area.width() - rowW) / 2);

    p.setPen(ink);
    p.drawText(QRectF(x, midY - fm.height(), endW, fm.height() * 2), Qt::AlignCenter, in);
    p.save();
    p.setFont(scaled(p.font(), 0.85));
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRectF(x - 10, midY + fm.height() * 0.5, endW + 20, fm.height()), Qt::AlignCenter,
               cnn ? QString::number(spec_.image) + QStringLiteral("\u00b2\u00d7") +
                         QString::number(spec_.inputChannels)
                   : QString::number(spec_.inputDim));
    p.restore();
    x += endW;
    for (int l : shown) {
        arrow(p, QPointF(x + 2, midY), QPointF(x + gap - 2, midY));
        x += gap;
        const QRectF box(x, midY - boxH / 2, boxW, boxH);
        if (l == 0) {
            p.drawText(box, Qt::AlignCenter, QStringLiteral("\u22ef"));
        } else {
            p.setBrush(fill);
            p.drawRoundedRect(box, 3, 3);
            p.setBrush(Qt::NoBrush);
            p.drawText(box, Qt::AlignCenter, weight + superscript(l) + QStringLiteral(" \u03c6"));
        }
        x += boxW;
    }
    arrow(p, QPointF(x + 2, midY), QPointF(x + gap - 2, midY));
    x += gap;
    p.drawText(QRectF(x, midY - fm.height(), endW, fm.height() * 2), Qt::AlignCenter, out);
}

void NetworkDiagram::paintResnet(QPainter& p, const QRectF& area) const {
    const QPalette pal = palette();
    const QColor ink = pal.color(QPalette::Text);
    QColor fill = pal.color(QPalette::Highlight);
    fill.setAlpha(45);
    QColor skip = pal.color(QPalette::Highlight);
    const QFontMetricsF fm(p.font());
    const double streamY = area.bottom() - fm.height() * 0.6;
    const double boxH = fm.height() * 1.3;
    const double boxTop = area.top();
    const QString in = QStringLiteral("x\u2070");
    const QString out = QStringLiteral("x") + superscript(spec_.depth);
    const double endW = std::max(fm.horizontalAdvance(in), fm.horizontalAdvance(out)) + 6;
    const QString branch = tr("%1\u00d7[\u03c6 W]").arg(spec_.branchDepth);
    const QString gamma = QStringLiteral("\u03b3=") + gammaText(spec_);
    const double cellW =
        std::max(fm.horizontalAdvance(branch) + 16, fm.horizontalAdvance(gamma) + 24) + 10;
    const double gapW = fm.horizontalAdvance(QStringLiteral("\u22ef")) + 16;
    const int room = std::max(3, static_cast<int>((area.width() - 2 * endW - gapW) / cellW) + 1);
    const std::vector<int> shown = shownIndices(spec_.depth, std::min(room, 4));
    double rowW = 2 * endW;
    for (int l : shown)
        rowW += l == 0 ? gapW : cellW;
    double x = area.left() + std::max(0.0, (area.width() - rowW) / 2);

    p.setPen(ink);
    p.drawText(QRectF(x, streamY - fm.height() / 2, endW, fm.height()), Qt::AlignCenter, in);
    x += endW;
    const double r = fm.height() * 0.36; // the sum node
    for (int l : shown) {
        if (l == 0) {
            p.setPen(QPen(ink, 1.4));
            p.drawLine(QPointF(x, streamY), QPointF(x + 4, streamY));
            p.drawText(QRectF(x, streamY - fm.height() / 2 - 1, gapW, fm.height()), Qt::AlignCenter,
                       QStringLiteral("\u22ef"));
            p.drawLine(QPointF(x + gapW - 4, streamY), QPointF(x + gapW, streamY));
            x += gapW;
            continue;
        }
        const double split = x + 4, sum = x + cellW - r - 4;
        // the skip: the stream itself, straight through the block
        p.setPen(QPen(skip, 2.0));
        p.drawLine(QPointF(x, streamY), QPointF(sum - r, streamY));
        // the branch: up from the split, through F, scaled by gamma, down into the sum
        const QRectF box(split + 6, boxTop, sum - split - 6, boxH);
        QPainterPath up;
        up.moveTo(split, streamY);
        up.cubicTo(split, box.center().y(), split, box.center().y(), box.left(), box.center().y());
        p.setPen(QPen(ink, 1.1));
        p.setBrush(Qt::NoBrush);
        p.drawPath(up);
        QPainterPath down;
        down.moveTo(box.right(), box.center().y());
        down.cubicTo(sum, box.center().y(), sum, box.center().y(), sum, streamY - r - 4);
        p.drawPath(down);
        arrow(p, QPointF(sum, streamY - r - 5), QPointF(sum, streamY - r));
        p.setBrush(fill);
        p.drawRoundedRect(box, 3, 3);
        p.setBrush(Qt::NoBrush);
        p.drawText(box, Qt::AlignCenter, branch);
        // gamma beside the branch's way down
        p.save();
        p.setFont(scaled(p.font(), 0.85));
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(QRectF(split + 2, box.bottom(), sum - split - 4, streamY - box.bottom() - 2),
                   Qt::AlignCenter, gamma);
        p.restore();
        // the sum node x + gamma F(x)
        p.setPen(QPen(ink, 1.2));
        p.setBrush(pal.color(QPalette::Base));
        p.drawEllipse(QPointF(sum, streamY), r, r);
        p.drawLine(QPointF(sum - r * 0.6, streamY), QPointF(sum + r * 0.6, streamY));
        p.drawLine(QPointF(sum, streamY - r * 0.6), QPointF(sum, streamY + r * 0.6));
        p.setBrush(Qt::NoBrush);
        p.setPen(QPen(skip, 2.0));
        p.drawLine(QPointF(sum + r, streamY), QPointF(x + cellW, streamY));
        x += cellW;
    }
    p.setPen(ink);
    arrow(p, QPointF(x - 1, streamY), QPointF(x + 4, streamY));
    p.drawText(QRectF(x + 4, streamY - fm.height() / 2, endW, fm.height()), Qt::AlignCenter, out);
}

void NetworkDiagram::paintRnn(QPainter& p, const QRectF& area) const {
    // the unrolled steps in a row: h_t boxes joined by the tied W (a_0 = 0 enters nothing), each
    // fed from below by its input x_t through U (x_1 only with first-step inputs)
    const QPalette pal = palette();
    const QColor ink = pal.color(QPalette::Text);
    QColor fill = pal.color(QPalette::Highlight);
    fill.setAlpha(45);
    const QColor tied = pal.color(QPalette::Highlight);
    const QFontMetricsF fm(p.font());
    const double boxH = fm.height() * 1.3;
    const double boxY = area.top();
    const double inY = area.bottom() - fm.height() * 0.5;
    const QString out = QStringLiteral("a") + QChar(0x209c); // a_t: the readout at t = T
    const QString widest =
        QStringLiteral("\u03c6(h") + subscript(spec_.depth) + QStringLiteral(")");
    const double boxW = fm.horizontalAdvance(widest) + 10;
    const double gap = fm.horizontalAdvance(QStringLiteral("W")) + 14;
    const double endW = fm.horizontalAdvance(out) + 14;
    const int room = std::max(3, static_cast<int>((area.width() - endW) / (boxW + gap)));
    const std::vector<int> shown = shownIndices(spec_.depth, std::min(room, 5));
    const double rowW = static_cast<double>(shown.size()) * (boxW + gap) + endW;
    double x = area.left() + std::max(0.0, (area.width() - rowW) / 2);
    const double midY = boxY + boxH / 2;
    for (std::size_t i = 0; i < shown.size(); ++i) {
        const int t = shown[i];
        const QRectF box(x, boxY, boxW, boxH);
        if (t == 0) {
            p.setPen(ink);
            p.drawText(box, Qt::AlignCenter, QStringLiteral("\u22ef"));
        } else {
            p.setPen(QPen(ink, 1.1));
            p.setBrush(fill);
            p.drawRoundedRect(box, 3, 3);
            p.setBrush(Qt::NoBrush);
            p.drawText(box, Qt::AlignCenter,
                       QStringLiteral("\u03c6(h") + subscript(t) + QStringLiteral(")"));
            if (spec_.rnnInput == RnnInput::EveryStep || t == 1) { // x_t -> U -> h_t
                p.setPen(QPen(ink, 1.0));
                arrow(p, QPointF(box.center().x(), inY - fm.height() * 0.45),
                      QPointF(box.center().x(), box.bottom() + 1));
                p.save();
                p.setFont(scaled(p.font(), 0.9));
                p.drawText(QRectF(box.left(), inY - fm.height() * 0.45, box.width(), fm.height()),
                           Qt::AlignCenter, QStringLiteral("x") + subscript(t));
                p.restore();
            }
        }
        x += boxW;
        // the tied W from this step to the next (or the readout after the last)
        const bool last = i + 1 == shown.size();
        p.setPen(QPen(last ? ink : tied, last ? 1.1 : 1.8));
        arrow(p, QPointF(x + 2, midY), QPointF(x + gap - 2, midY));
        if (!last) {
            p.save();
            p.setFont(scaled(p.font(), 0.85));
            p.setPen(pal.color(QPalette::PlaceholderText));
            p.drawText(QRectF(x, midY - fm.height() * 1.1, gap, fm.height()), Qt::AlignCenter,
                       QStringLiteral("W"));
            p.restore();
        }
        x += gap;
    }
    p.setPen(ink);
    p.drawText(QRectF(x, boxY, endW, boxH), Qt::AlignCenter,
               QStringLiteral("a") + subscript(spec_.depth));
}

} // namespace initscope::ui
