#include "ntkview.h"

#include "colormap.h"
#include "viewcharts.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace initscope::ui {

namespace {
QString num(double v) {
    return std::isfinite(v) ? QString::number(v, 'g', 4)
                            : (v > 0 ? QStringLiteral("\u221e") : QStringLiteral("n/a"));
}

/// A 1, 2, 5 x 10^k tick step giving at most about 10 ticks over [0, span].
double niceStep(double span) {
    const double raw = std::max(1.0, span / 10);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0})
        if (m * mag >= raw)
            return m * mag;
    return 10 * mag;
}

/// The kernel as an image, row a = input a from the top, colour linear between its min and max
/// (rendered on the worker thread).
GridImage kernelImage(const Eigen::MatrixXd& theta, const QString& what) {
    GridImage g;
    const auto k = static_cast<int>(theta.rows());
    if (k == 0 || !theta.allFinite())
        return g;
    g.image = QImage(k, k, QImage::Format_RGB32);
    const double lo = theta.minCoeff(), hi = theta.maxCoeff();
    for (int a = 0; a < k; ++a) {
        auto* line = reinterpret_cast<QRgb*>(g.image.scanLine(a));
        for (int b = 0; b < k; ++b)
            line[b] = viridis(hi > lo ? (theta(a, b) - lo) / (hi - lo) : 0.5);
    }
    g.xLeft = -0.5;
    g.xRight = k - 0.5;
    g.yTop = -0.5;
    g.yBottom = k - 0.5;
    g.vMin = lo;
    g.vMax = hi > lo ? hi : lo + 1;
    g.xLabel = QObject::tr("input b");
    g.yLabel = QObject::tr("input a");
    g.colorLabel = QObject::tr("%1 \u0398(x_a, x_b)").arg(what);
    return g;
}
} // namespace

NtkView::NtkView(QWidget* parent)
    : QWidget(parent), refresh_(this, kDebounceMs, [this] { compute(); }) {
    spectrum_ = charts::makeView(tr("NTK eigenvalues"));
    spectrum_->setObjectName(QStringLiteral("ntkSpectrum"));
    QChart* c = spectrum_->chart();
    eigX_ = charts::valueAxis(c, tr("eigenvalue rank i (1 = largest)"), Qt::AlignBottom,
                              QStringLiteral("%d"));
    eigY_ = charts::logAxis(c, tr("eigenvalue \u03bb\u1d62 of \u0398 (log)"), Qt::AlignLeft);
    eigEmpirical_ =
        charts::addLine(c, tr("empirical (this network)"), charts::color(0), false, eigX_, eigY_);
    eigEmpirical_->setPointsVisible(true);
    eigAnalytic_ =
        charts::addLine(c, tr("analytic (infinite width)"), charts::color(1), true, eigX_, eigY_);

    condition_ = charts::makeView(tr("NTK condition number \u03bb_max/\u03bb_min by depth"));
    condition_->setObjectName(QStringLiteral("ntkCondition"));
    c = condition_->chart();
    condX_ = charts::valueAxis(c, tr("depth m (network truncated at layer m)"), Qt::AlignBottom,
                               QStringLiteral("%d"));
    condY_ = charts::logAxis(c, tr("condition number (log)"), Qt::AlignLeft);
    condEmpirical_ = charts::addLine(c, tr("empirical"), charts::color(0), false, condX_, condY_);
    condAnalytic_ = charts::addLine(c, tr("analytic"), charts::color(1), true, condX_, condY_);
    charts::restyle(spectrum_);
    charts::restyle(condition_);

    kernel_ = new GridHeatmap(tr("NTK kernel \u0398 on the probe inputs"));
    kernel_->setObjectName(QStringLiteral("ntkKernel"));
    kernelChoice_ = new QComboBox;
    kernelChoice_->addItems({tr("empirical kernel"), tr("analytic kernel")});
    connect(kernelChoice_, &QComboBox::currentIndexChanged, this,
            [this](int i) { kernel_->setGrid(i == 0 ? empiricalImage_ : analyticImage_); });
    inputs_ = new QSpinBox;
    inputs_->setObjectName(QStringLiteral("ntkInputs"));
    inputs_->setRange(2, 256);
    inputs_->setValue(32);
    inputs_->setToolTip(tr("K probe inputs (the first K of the batch): the kernel is K x K."));
    connect(inputs_, &QSpinBox::valueChanged, this, [this] { refresh_.restart(); });
    summary_ = new QLabel;
    summary_->setObjectName(QStringLiteral("ntkSummary"));
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Inputs K:")));
    top->addWidget(inputs_);
    top->addWidget(new QLabel(tr("Heatmap:")));
    top->addWidget(kernelChoice_);
    top->addWidget(summary_, 1);
    auto* grid = new QGridLayout;
    grid->addWidget(spectrum_, 0, 0);
    grid->addWidget(condition_, 0, 1);
    grid->addWidget(kernel_, 1, 0, 1, 2);
    grid->setRowStretch(0, 1);
    grid->setRowStretch(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(top);
    layout->addLayout(grid, 1);

    summary_->setText(tr("Waiting for the first result..."));
}

NtkView::~NtkView() = default;

void NtkView::setSpec(const NetworkSpec& spec) {
    refresh_.setSpec(spec);
}

void NtkView::setInputs(int k) {
    inputs_->setValue(k);
}

QString NtkView::summaryText() const {
    return summary_->text();
}

void NtkView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    refresh_.shown();
}

void NtkView::compute() {
    const NetworkSpec spec = refresh_.spec();
    NtkOptions options;
    options.inputs = std::min(inputs_->value(), spec.batch);
    const std::vector<SpecError> errors = validateNtk(spec, options);
    if (!errors.empty()) {
        worker_.cancel();
        summary_->setText(
            tr("Not computed: %1").arg(QString::fromStdString(errors.front().message)));
        return;
    }
    streamed_.assign(static_cast<std::size_t>(spec.depth), std::nan(""));
    condEmpirical_->clear();
    condX_->setRange(0, spec.depth + 1);
    summary_->setText(tr("Computing the NTK of %1 inputs at every depth 1..%2...")
                          .arg(options.inputs)
                          .arg(spec.depth));
    worker_.submit([this, spec, options](quint64 gen, const std::atomic<bool>& cancel) {
        NtkResult r;
        try {
            r = computeNtk(
                spec, options,
                [&](const NtkDepthPoint& p) {
                    worker_.post(gen, [this, p] {
                        if (p.depth >= 1 && p.depth <= static_cast<int>(streamed_.size())) {
                            streamed_[static_cast<std::size_t>(p.depth - 1)] = p.condition;
                            drawConditions();
                        }
                    });
                },
                &cancel);
        } catch (const std::exception& e) {
            const QString m = QString::fromUtf8(e.what());
            worker_.post(gen, [this, m] { summary_->setText(tr("Not computed: %1").arg(m)); });
            return;
        }
        if (r.cancelled)
            return;
        GridImage e = kernelImage(r.empirical.theta, QObject::tr("empirical"));
        GridImage a = kernelImage(r.analytic.theta, QObject::tr("analytic"));
        worker_.post(gen, [this, r = std::move(r), e, a] { display(r, e, a); });
    });
}

void NtkView::drawConditions() {
    std::vector<QPointF> pts;
    std::vector<double> ys = streamed_;
    for (std::size_t m = 0; m < streamed_.size(); ++m)
        pts.emplace_back(static_cast<double>(m + 1), streamed_[m]);
    condEmpirical_->replace(charts::drawable(pts, true));
    for (const QPointF& p : condAnalytic_->points())
        ys.push_back(p.y());
    charts::fitLog(condY_, ys);
}

void NtkView::display(const NtkResult& r, const GridImage& empirical, const GridImage& analytic) {
    result_ = r;
    empiricalImage_ = empirical;
    analyticImage_ = analytic;
    kernel_->setGrid(kernelChoice_->currentIndex() == 0 ? empiricalImage_ : analyticImage_);
    kernel_->setTitle(
        tr("NTK kernel \u0398 on %1 probe inputs (depth %2)").arg(r.inputs).arg(r.spec.depth));

    auto eig = [](const std::vector<double>& v) {
        std::vector<QPointF> pts;
        for (std::size_t i = 0; i < v.size(); ++i)
            pts.emplace_back(static_cast<double>(i + 1), v[i]);
        return charts::drawable(pts, true);
    };
    eigEmpirical_->replace(eig(r.empirical.eigenvalues));
    eigAnalytic_->replace(r.analyticApplicable ? eig(r.analytic.eigenvalues) : QList<QPointF>{});
    eigX_->setRange(0.5, r.inputs + 0.5);
    std::vector<double> ys = r.empirical.eigenvalues;
    if (r.analyticApplicable)
        ys.insert(ys.end(), r.analytic.eigenvalues.begin(), r.analytic.eigenvalues.end());
    charts::fitLog(eigY_, ys);
    spectrum_->chart()->setTitle(
        tr("NTK eigenvalues of %1 inputs at depth %2").arg(r.inputs).arg(r.spec.depth));

    if (!r.conditionByDepth.empty())
        streamed_ = r.conditionByDepth; // authoritative (equal to the streamed values)
    std::vector<QPointF> pts;
    if (r.analyticApplicable)
        for (std::size_t m = 0; m < r.analyticConditionByDepth.size(); ++m)
            pts.emplace_back(static_cast<double>(m + 1), r.analyticConditionByDepth[m]);
    condAnalytic_->replace(charts::drawable(pts, true));
    condX_->setRange(0, r.spec.depth + 1);
    condX_->setTickType(QValueAxis::TicksDynamic);
    condX_->setTickAnchor(0);
    condX_->setTickInterval(niceStep(r.spec.depth + 1));
    eigX_->setTickType(QValueAxis::TicksDynamic);
    eigX_->setTickAnchor(0);
    eigX_->setTickInterval(niceStep(r.inputs));
    drawConditions();

    QString text = tr("<b>Condition</b> \u03bb_max/\u03bb_min = %1 empirical, %2 analytic; "
                      "\u03bb_max = %3, \u03bb_min = %4. %5 ms.")
                       .arg(num(r.empirical.condition),
                            r.analyticApplicable ? num(r.analytic.condition) : tr("n/a"),
                            num(r.empirical.eigenvalues.empty() ? std::nan("")
                                                                : r.empirical.eigenvalues.front()),
                            num(r.empirical.eigenvalues.empty() ? std::nan("")
                                                                : r.empirical.eigenvalues.back()))
                       .arg(r.seconds * 1e3, 0, 'f', 0);
    if (!r.analyticApplicable && !r.analyticNote.empty())
        text += tr(" Analytic: %1.").arg(QString::fromStdString(r.analyticNote));
    if (r.firstNonfiniteLayer > 0)
        text += tr(" <b>Non-finite from layer %1.</b>").arg(r.firstNonfiniteLayer);
    summary_->setText(text);
    emit resultShown();
}

} // namespace initscope::ui
