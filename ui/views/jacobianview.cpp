#include "views/jacobianview.h"

#include "charts/viewcharts.h"

#include <QChart>
#include <QChartView>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace initscope::ui {

namespace {
QString num(double v) {
    if (std::isinf(v))
        return v > 0 ? QStringLiteral("\u221e") : QStringLiteral("-\u221e");
    return std::isfinite(v) ? QString::number(v, 'g', 4) : QStringLiteral("n/a");
}
} // namespace

JacobianView::JacobianView(QWidget* parent)
    : QWidget(parent), refresh_(this, kDebounceMs, [this] { compute(); }) {
    view_ = charts::makeView(tr("Jacobian \u2202a\u1d38/\u2202x: singular values per input"));
    view_->setObjectName(QStringLiteral("jacobianChart"));
    QChart* c = view_->chart();
    x_ = charts::logAxis(c, tr("singular value s of \u2202a\u1d38/\u2202x (log scale)"),
                         Qt::AlignBottom);
    y_ = charts::valueAxis(c, tr("singular values per bin (count)"), Qt::AlignLeft,
                           QStringLiteral("%d"));
    for (int b = 0; b < kMaxInputs; ++b) {
        QLineSeries* s =
            charts::addLine(c, tr("input %1").arg(b), charts::color(b + 2), false, x_, y_, 1.6);
        series_.push_back(s);
    }
    // the prediction first: Qt Charts draws later series on top, and a measured line that
    // matches its prediction must stay visible
    theoryRms_ =
        charts::addLine(c, tr("rms predicted (mean field)"), charts::color(1), true, x_, y_, 2.5);
    measuredRms_ = charts::addLine(c, tr("rms measured"), charts::color(0), false, x_, y_, 2.5);
    // CSV keys (figureCsv)
    measuredRms_->setObjectName(QStringLiteral("rms_measured"));
    theoryRms_->setObjectName(QStringLiteral("rms_predicted"));
    charts::integerTicks(y_, 0, 1);
    charts::restyle(view_);

    inputs_ = new QSpinBox;
    inputs_->setObjectName(QStringLiteral("jacobianInputs"));
    inputs_->setRange(1, kMaxInputs);
    inputs_->setValue(4);
    inputs_->setToolTip(tr("Number of probe inputs (the first inputs of the batch); each costs "
                           "a chain of L matrix products."));
    connect(inputs_, &QSpinBox::valueChanged, this, [this] { refresh_.restart(); });
    summary_ = new QLabel;
    summary_->setObjectName(QStringLiteral("jacobianSummary"));
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Inputs:")));
    top->addWidget(inputs_);
    top->addWidget(summary_, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    weightsNote_ = new QLabel;
    weightsNote_->setObjectName(QStringLiteral("weightsNote"));
    weightsNote_->setWordWrap(true);
    weightsNote_->setVisible(false);
    layout->addWidget(weightsNote_);
    layout->addLayout(top);
    layout->addWidget(view_, 1);

    summary_->setText(tr("Waiting for the first result..."));
}

JacobianView::~JacobianView() = default;

void JacobianView::setWeightsNote(const QString& note) {
    weightsNote_->setText(note);
    weightsNote_->setVisible(!note.isEmpty());
}

QString JacobianView::weightsNote() const {
    return weightsNote_->text();
}

void JacobianView::setSpec(const NetworkSpec& spec) {
    refresh_.setSpec(spec);
}

int JacobianView::inputs() const {
    return inputs_->value();
}

void JacobianView::setInputs(int k) {
    inputs_->setValue(k);
}

void JacobianView::showSameAs(const JacobianView& other) {
    const QSignalBlocker block(inputs_);
    inputs_->setValue(other.inputs_->value());
    refresh_.markCurrent(other.refresh_.spec());
    if (!other.result_.inputs.empty())
        display(other.result_);
}

QString JacobianView::summaryText() const {
    return summary_->text();
}

void JacobianView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    refresh_.shown();
}

QString JacobianView::problems() const {
    const NetworkSpec& spec = refresh_.spec();
    const std::vector<SpecError> errors =
        validateJacobian(spec, std::min(inputs_->value(), spec.batch));
    return QString::fromStdString(firstMessage(errors));
}

void JacobianView::compute() {
    NetworkSpec spec = refresh_.spec();
    const int k = std::min(inputs_->value(), spec.batch);
    if (const QString problem = problems(); !problem.isEmpty()) {
        worker_.cancel();
        summary_->setText(tr("Not computed: %1").arg(problem));
        return;
    }
    summary_->setText(tr("Computing the Jacobian of %1 inputs (depth %2, width %3)...")
                          .arg(k)
                          .arg(spec.depth)
                          .arg(spec.width));
    worker_.submit([this, spec, k](quint64 gen, const std::atomic<bool>& cancel) {
        JacobianResult r;
        try {
            r = computeJacobian(spec, k, {}, &cancel);
        } catch (const std::exception& e) {
            const QString m = QString::fromUtf8(e.what());
            worker_.post(gen, [this, m] { summary_->setText(tr("Not computed: %1").arg(m)); });
            return;
        }
        if (r.cancelled)
            return;
        worker_.post(gen, [this, r = std::move(r)] { display(r); });
    });
}

void JacobianView::display(const JacobianResult& r) {
    result_ = r;
    // log10 bins over every positive singular value of every input
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    int zeros = 0;
    for (const JacobianInput& in : r.inputs)
        for (double s : in.singularValues) {
            if (s > 0 && std::isfinite(s)) {
                lo = std::min(lo, std::log10(s));
                hi = std::max(hi, std::log10(s));
            } else {
                ++zeros;
            }
        }
    const bool any = hi >= lo;
    if (any && hi - lo < 0.1) { // isometry: every value the same; show a tenth of a decade
        const double m = (lo + hi) / 2;
        lo = m - 0.05;
        hi = m + 0.05;
    }
    const double width = any ? (hi - lo) / kBins : 1;
    double maxCount = 1;
    for (int b = 0; b < kMaxInputs; ++b) {
        QLineSeries* s = series_[static_cast<std::size_t>(b)];
        const bool used = b < static_cast<int>(r.inputs.size()) && any;
        s->setVisible(used);
        charts::legendFollowsData(view_->chart(), s, used);
        if (!used) {
            s->clear();
            continue;
        }
        const JacobianInput& in = r.inputs[static_cast<std::size_t>(b)];
        std::vector<int> counts(kBins, 0);
        for (double v : in.singularValues)
            if (v > 0 && std::isfinite(v)) {
                const int i =
                    std::clamp(static_cast<int>((std::log10(v) - lo) / width), 0, kBins - 1);
                ++counts[static_cast<std::size_t>(i)];
            }
        // a step outline: each bin is a flat top between its edges
        QList<QPointF> pts;
        pts.reserve(2 * kBins + 2);
        pts.append(QPointF(std::pow(10.0, lo), 0));
        for (int i = 0; i < kBins; ++i) {
            const double c = counts[static_cast<std::size_t>(i)];
            maxCount = std::max(maxCount, c);
            pts.append(QPointF(std::pow(10.0, lo + i * width), c));
            pts.append(QPointF(std::pow(10.0, lo + (i + 1) * width), c));
        }
        pts.append(QPointF(std::pow(10.0, hi), 0));
        s->replace(pts);
        s->setName(tr("input %1").arg(in.index));
        s->setObjectName(QStringLiteral("input_%1").arg(in.index));
    }
    // counts: integer ticks, a little headroom above the tallest bin
    charts::integerTicks(y_, 0, std::ceil(maxCount * 1.1), 8);
    auto vertical = [&](QLineSeries* s, double meanSq) {
        const double v = std::sqrt(meanSq);
        charts::setPoints(s, std::isfinite(v) && v > 0 ? QList<QPointF>{{v, 0}, {v, y_->max()}}
                                                       : QList<QPointF>{});
    };
    vertical(measuredRms_, r.meanSq);
    vertical(theoryRms_, r.theoryMeanSq);
    if (any) {
        std::vector<double> xs{std::pow(10.0, lo), std::pow(10.0, hi)};
        for (double m : {r.meanSq, r.theoryMeanSq})
            xs.push_back(std::sqrt(m));
        charts::fitLog(x_, xs);
    }
    double spreadLo = HUGE_VAL, spreadHi = -HUGE_VAL;
    for (const JacobianInput& in : r.inputs)
        if (!std::isnan(in.spread)) {
            spreadLo = std::min(spreadLo, in.spread);
            spreadHi = std::max(spreadHi, in.spread);
        }
    const bool blocks = r.spec.arch == Arch::Resnet;
    // the mean-field product: of chi_l per layer, or of 1 + gamma^2 chi_F per residual block
    const QString product =
        blocks ? tr("\u220f\u2097 (1 + \u03b3\u00b2\u03c7_F)") : tr("\u220f\u2097 \u03c7\u2097");
    QString text =
        tr("<b>mean s\u00b2</b> = %1 measured, %2 mean-field (%8; ratio "
           "%3). <b>Spread</b> max/min = %4 \u2013 %5 over %6 inputs (1 = dynamical isometry). "
           "%7 ms.")
            .arg(num(r.meanSq), num(r.theoryMeanSq), num(r.meanSq / r.theoryMeanSq), num(spreadLo),
                 num(spreadHi))
            .arg(r.inputs.size())
            .arg(r.seconds * 1e3, 0, 'f', 0)
            .arg(product);
    if (!r.theoryNote.empty())
        text += tr(" Theory: %1.").arg(QString::fromStdString(r.theoryNote));
    if (r.firstNonfiniteLayer > 0)
        text += (blocks ? tr(" <b>Non-finite from block %1.</b>")
                        : tr(" <b>Non-finite from layer %1.</b>"))
                    .arg(r.firstNonfiniteLayer);
    if (zeros > 0)
        text += tr(" %1 singular values are 0 or not finite (not on the log axis).").arg(zeros);
    summary_->setText(text);
    x_->setTitleText(blocks ? tr("singular value s of \u2202x\u1d38/\u2202x\u2070 (log scale)")
                            : tr("singular value s of \u2202a\u1d38/\u2202x (log scale)"));
    view_->chart()->setTitle((blocks ? tr("Jacobian \u2202x\u1d38/\u2202x\u2070: singular values "
                                          "of %1 inputs (%2 residual blocks, width %3, %4)")
                                     : tr("Jacobian \u2202a\u1d38/\u2202x: singular values of %1 "
                                          "inputs (depth %2, width %3, %4)"))
                                 .arg(r.inputs.size())
                                 .arg(r.spec.depth)
                                 .arg(r.spec.arch == Arch::Cnn ? r.spec.widthOf(1) : r.spec.width)
                                 .arg(QString::fromStdString(initSchemeName(r.spec.init))));
    emit resultShown();
}

} // namespace initscope::ui
