#include "views/phaseview.h"

#include "charts/colormap.h"
#include "core/cost.h"
#include "theory/meanfield.h"
#include "window/controlpanel.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QVBoxLayout>

#include <cmath>

namespace initscope::ui {

namespace {
// chi1 on a log colour scale, white at 1 (critical): the ordered side from the smallest chi1 of
// the grid (deep blue) to 1, the chaotic side from 1 to the largest (deep red), each half of the
// map to its own side. tanh's chaotic phase (chi1 < 1.5 here) keeps its colour beside an ordered
// phase that reaches 0.1, and no cell is clipped.
// xi_c in layers on a log scale: 10^-0.5 .. 10^2.5 (infinite at the critical line: top colour).
constexpr double kXiLogMin = -0.5, kXiLogMax = 2.5;

QRgb chiColour(double chi1, const GridImage& scale) {
    if (!(chi1 > 0) || !std::isfinite(chi1))
        return chi1 > 0 ? diverging(1) : (chi1 == 0 ? diverging(0) : nonfiniteColor());
    return diverging(scale.fraction(std::log10(chi1)));
}

GridImage chiScale(double lo, double hi) {
    GridImage g;
    g.vMin = lo;
    g.vMax = hi;
    g.vCentre = 0;
    return g;
}

QRgb xiColour(double xi) {
    if (std::isnan(xi))
        return nonfiniteColor();
    if (!(xi > 0))
        return viridis(0);
    if (!std::isfinite(xi))
        return viridis(1);
    return viridis((std::log10(xi) - kXiLogMin) / (kXiLogMax - kXiLogMin));
}
} // namespace

PhaseView::PhaseView(QWidget* parent)
    : QWidget(parent), heatmap_(new GridHeatmap(tr("Phase diagram"))) {
    heatmap_->setObjectName(QStringLiteral("phaseHeatmap"));
    colour_ = new QComboBox;
    colour_->setObjectName(QStringLiteral("phaseColour"));
    colour_->addItem(tr("\u03c7\u2081 (gradient growth per layer)"));
    colour_->addItem(tr("\u03be_c (correlation depth, layers)"));
    colour_->setToolTip(tr("chi1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]: < 1 ordered, 1 critical, "
                           "> 1 chaotic. xi_c: depth over which two inputs stay distinguishable "
                           "(trainable depth is about 6 xi_c)."));
    connect(colour_, &QComboBox::currentIndexChanged, this, [this] { showGrid(); });
    note_ = new QLabel;
    note_->setWordWrap(true);
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Colour by:")));
    top->addWidget(colour_);
    top->addWidget(note_, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(top);
    family_ = new QLabel;
    family_->setObjectName(QStringLiteral("phaseFamily"));
    family_->setWordWrap(true);
    family_->setVisible(false);
    layout->addWidget(family_);
    layout->addWidget(heatmap_, 1);
    connect(heatmap_, &GridHeatmap::clicked, this, &PhaseView::onClicked);
    setSpec(NetworkSpec{});
}

PhaseView::~PhaseView() = default;

QPointF PhaseView::cellCentre(int i, int j) {
    return {sigmaW2Axis().values().at(static_cast<std::size_t>(j)),
            sigmaB2Axis().values().at(static_cast<std::size_t>(i))};
}

double PhaseView::chi1At(int i, int j) const {
    if (i < 0 || j < 0 || i >= static_cast<int>(chi1_.size()) ||
        j >= static_cast<int>(chi1_[static_cast<std::size_t>(i)].size()))
        return std::nan("");
    return chi1_[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
}

std::vector<QPointF> PhaseView::criticalLine() const {
    std::vector<QPointF> out;
    const std::vector<double> sb = sigmaB2Axis().values();
    for (std::size_t i = 0; i < critical_.size(); ++i)
        if (i < chi1_.size() && !chi1_[i].empty())
            out.emplace_back(critical_[i], sb[i]);
    return out;
}

QString PhaseView::familyNote() const {
    return family_->text();
}

void PhaseView::setSpec(const NetworkSpec& spec) {
    const bool wasResnet = spec_.arch == Arch::Resnet;
    spec_ = spec;
    // the diagram is the mean field of a stack of dense layers: for a resnet that is each
    // branch F, not the residual stream (whose length adds gamma^2 q_F per block)
    const bool resnet = spec.arch == Arch::Resnet;
    family_->setText(resnet ? tr("<b>resnet:</b> this is the mean-field phase diagram of an "
                                 "<b>mlp</b> with \u03c6 = %1. For the resnet it describes the "
                                 "dense layers inside each residual branch F (m = %2), not the "
                                 "residual stream x\u02e1, which adds \u03b3\u00b2 q_F per block "
                                 "(see the Signal tab).")
                                  .arg(QString::fromStdString(activationName(spec.activation)))
                                  .arg(spec.branchDepth)
                     : spec.arch == Arch::Rnn
                         ? tr("<b>rnn:</b> this is the mean-field phase diagram of an <b>mlp</b> "
                              "with \u03c6 = %1. An rnn's time steps t \u2265 2 follow the same "
                              "length map with \u03c3_w\u00b2 of the recurrent W and the bias "
                              "\u03c3_b\u00b2 + \u03c3_u\u00b2 q_x (inputs at every step) or "
                              "\u03c3_b\u00b2 (input at t = 1 only); \u03c7\u2081 is the "
                              "gradient's rate per step back in time.")
                               .arg(QString::fromStdString(activationName(spec.activation)))
                         : QString());
    family_->setVisible(resnet || spec.arch == Arch::Rnn);
    if (resnet != wasResnet)
        showGrid(); // its title names whose mean field it is
    const Activation act(spec.activation, spec.activationSlope);
    wanted_ = act;
    const double sw2 = effectiveSigmaW2(spec, ControlPanel::referenceLayer(spec));
    const double sb2 = effectiveSigmaB2(spec);
    heatmap_->setMarker(QPointF(sw2, sb2), tr("current setting: \u03c3_w\u00b2 = %1, "
                                              "\u03c3_b\u00b2 = %2")
                                               .arg(sw2, 0, 'g', 4)
                                               .arg(sb2, 0, 'g', 4));
    const bool changed =
        !computedFor_ || computedFor_->kind() != act.kind() ||
        (act.kind() == ActivationKind::LeakyRelu && computedFor_->slope() != act.slope());
    if (changed && isVisible())
        compute();
}

void PhaseView::showSameAs(const PhaseView& other) {
    worker_.cancel();
    const QSignalBlocker block(colour_);
    colour_->setCurrentIndex(other.colour_->currentIndex());
    computedFor_ = other.computedFor_;
    chiImage_ = other.chiImage_;
    xiImage_ = other.xiImage_;
    critical_ = other.critical_;
    chi1_ = other.chi1_;
    xi_ = other.xi_;
    chiLogLo_ = other.chiLogLo_;
    chiLogHi_ = other.chiLogHi_;
    rowsDone_ = other.rowsDone_;
    note_->setText(other.note_->text());
    setSpec(other.spec_); // the marker; computedFor_ equals the activation, so no computation
    showGrid();
}

void PhaseView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (wanted_ && (!computedFor_ || computedFor_->kind() != wanted_->kind() ||
                    computedFor_->slope() != wanted_->slope()))
        compute();
}

void PhaseView::setColour(Colour c) {
    colour_->setCurrentIndex(c == Colour::Chi1 ? 0 : 1);
}

void PhaseView::compute() {
    if (!wanted_)
        return;
    const Activation act = *wanted_;
    computedFor_ = act;
    ++computations_;
    sinceStart_.start();
    const GridAxis sw = sigmaW2Axis(), sb = sigmaB2Axis();
    const int cols = sw.steps, rows = sb.steps;
    critical_.assign(static_cast<std::size_t>(rows), std::nan(""));
    chi1_.assign(static_cast<std::size_t>(rows), {});
    xi_.assign(static_cast<std::size_t>(rows), {});
    chiLogLo_ = -kMinChiLog;
    chiLogHi_ = kMinChiLog;
    rowsDone_ = 0;
    chiImage_ = QImage(cols, rows, QImage::Format_ARGB32);
    chiImage_.fill(Qt::transparent);
    xiImage_ = chiImage_;
    const QString duration = QString::fromStdString(
        formatDuration(estimatePhaseSeconds(static_cast<long>(cols) * rows, 0)));
    note_->setText(tr("Computing %1 \u00d7 %2 cells of mean-field theory (%3)... Click a cell "
                      "to set \u03c3_w\u00b2 (through the gain) and \u03c3_b\u00b2 (normal "
                      "biases).")
                       .arg(cols)
                       .arg(rows)
                       .arg(duration));
    showGrid();
    worker_.submit([this, act, sw, sb, cols, rows, duration](quint64 gen,
                                                             const std::atomic<bool>& cancel) {
        // Images are coloured here, off the GUI thread; each row posts a copy (implicitly shared,
        // the next write detaches).
        QImage chi(cols, rows, QImage::Format_ARGB32), xi(cols, rows, QImage::Format_ARGB32);
        chi.fill(Qt::transparent);
        xi.fill(Qt::transparent);
        std::vector<PhaseRow> received;
        double lo = -kMinChiLog, hi = kMinChiLog;
        computePhaseDiagram(
            act, sw, sb,
            [&](const PhaseRow& row) {
                // The chi1 colours follow the range of every row so far: recolour all of them
                // when a row widens it (a few thousand cells, cheap beside the mean field).
                bool widened = false;
                for (double v : row.chi1)
                    if (v > 0 && std::isfinite(v)) {
                        const double l = std::log10(v);
                        widened |= l < lo || l > hi;
                        lo = std::min(lo, l);
                        hi = std::max(hi, l);
                    }
                received.push_back(row);
                const GridImage scale = chiScale(lo, hi);
                auto paint = [&](const PhaseRow& r) {
                    const int y = rows - 1 - r.index; // largest sigma_b^2 at the top
                    auto* c = reinterpret_cast<QRgb*>(chi.scanLine(y));
                    for (int j = 0; j < cols; ++j)
                        c[j] = chiColour(r.chi1[static_cast<std::size_t>(j)], scale);
                };
                if (widened)
                    for (const PhaseRow& r : received)
                        paint(r);
                else
                    paint(row);
                auto* x = reinterpret_cast<QRgb*>(xi.scanLine(rows - 1 - row.index));
                for (int j = 0; j < cols; ++j)
                    x[j] = xiColour(row.xiC[static_cast<std::size_t>(j)]);
                worker_.post(gen, [this, chi, xi, row, cols, rows, lo, hi, duration] {
                    chiImage_ = chi;
                    xiImage_ = xi;
                    chiLogLo_ = lo;
                    chiLogHi_ = hi;
                    const auto i = static_cast<std::size_t>(row.index);
                    critical_[i] = row.criticalSigmaW2;
                    chi1_[i] = row.chi1;
                    xi_[i] = row.xiC;
                    ++rowsDone_;
                    showGrid();
                    if (complete()) {
                        note_->setText(tr("Click a cell to set \u03c3_w\u00b2 (through the gain "
                                          "of the current scheme) and \u03c3_b\u00b2 (normal "
                                          "biases). Mean-field theory, infinite width; %1 "
                                          "cells in %2 ms.")
                                           .arg(cols * rows)
                                           .arg(sinceStart_.elapsed()));
                        emit diagramComplete();
                    } else {
                        note_->setText(tr("Computing %1 \u00d7 %2 cells of mean-field theory "
                                          "(%3 in all): %4 of %2 rows done.")
                                           .arg(cols)
                                           .arg(rows)
                                           .arg(duration)
                                           .arg(rowsDone_));
                    }
                });
            },
            &cancel);
    });
}

void PhaseView::showGrid() {
    const GridAxis sw = sigmaW2Axis(), sb = sigmaB2Axis();
    const double dx = (sw.to - sw.from) / (sw.steps - 1), dy = (sb.to - sb.from) / (sb.steps - 1);
    GridImage g;
    const bool chi = colour_->currentIndex() == 0;
    g.image = chi ? chiImage_ : xiImage_;
    g.xLeft = sw.from - dx / 2;
    g.xRight = sw.to + dx / 2;
    g.yTop = sb.to + dy / 2;
    g.yBottom = sb.from - dy / 2;
    g.xLabel = tr("weight variance \u03c3_w\u00b2 (effective, = Var(W) \u00b7 fan-in)");
    g.yLabel = tr("bias variance \u03c3_b\u00b2");
    g.logColor = true;
    g.divergingMap = chi;
    if (chi) {
        g.vMin = chiLogLo_;
        g.vMax = chiLogHi_;
        g.vCentre = 0;
        g.colorLabel = tr("\u03c7\u2081 (log scale, 1 = critical)");
    } else {
        g.vMin = kXiLogMin;
        g.vMax = kXiLogMax;
        g.colorLabel = tr("\u03be_c in layers (log scale)");
    }
    QString act = computedFor_ ? QString::fromStdString(computedFor_->name()) : QStringLiteral("?");
    if (spec_.arch == Arch::Resnet) // the mean field of a stack of dense layers: each branch
        act = tr("an mlp of %1 (each resnet branch)").arg(act);
    heatmap_->setTitle(chi ? tr("Phase diagram of %1: \u03c7\u2081, ordered (blue) < 1 < chaotic "
                                "(red)")
                                 .arg(act)
                           : tr("Phase diagram of %1: correlation depth \u03be_c, infinite on the "
                                "critical line")
                                 .arg(act));
    g.rows = sb.steps;
    g.rowsDone = rowsDone_;
    // the values behind the colours, rows from the top (largest sigma_b^2) as in the image
    const auto& values = chi ? chi1_ : xi_;
    g.values.assign(static_cast<std::size_t>(sw.steps) * static_cast<std::size_t>(sb.steps),
                    std::nan(""));
    for (std::size_t i = 0; i < values.size(); ++i)
        for (std::size_t j = 0; j < values[i].size(); ++j)
            g.values[(static_cast<std::size_t>(sb.steps) - 1 - i) *
                         static_cast<std::size_t>(sw.steps) +
                     j] = values[i][j];
    g.valueKey = chi ? QStringLiteral("chi1") : QStringLiteral("xi_c");
    heatmap_->setGrid(g);
    QPolygonF line;
    const std::vector<double> sbv = sb.values();
    for (std::size_t i = 0; i < critical_.size(); ++i)
        line << QPointF(critical_[i], sbv[i]);
    heatmap_->setOverlay(line, tr("critical line \u03c7\u2081 = 1"));
}

void PhaseView::onClicked(QPointF d) {
    const GridAxis sw = sigmaW2Axis(), sb = sigmaB2Axis();
    const double dx = (sw.to - sw.from) / (sw.steps - 1), dy = (sb.to - sb.from) / (sb.steps - 1);
    const int j =
        std::clamp(static_cast<int>(std::lround((d.x() - sw.from) / dx)), 0, sw.steps - 1);
    const int i =
        std::clamp(static_cast<int>(std::lround((d.y() - sb.from) / dy)), 0, sb.steps - 1);
    const QPointF c = cellCentre(i, j);
    emit pointChosen(c.x(), c.y());
}

} // namespace initscope::ui
