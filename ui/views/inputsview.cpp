#include "views/inputsview.h"

#include "charts/colormap.h"
#include "core/data.h"

#include <QLabel>
#include <QPainter>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <vector>

namespace initscope::ui {

/// Paints the inputs: a grid of grey images, or a heatmap with one row per input.
class InputsCanvas : public QWidget {
public:
    static constexpr int kMaxFeatures = 128; // heatmap columns shown

    InputsCanvas() {
        setMinimumSize(200, 200);
        setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    }
    void setInputs(MatrixF x, bool images, int side, double lo, double hi) {
        x_ = std::move(x);
        images_ = images;
        side_ = side;
        lo_ = lo;
        hi_ = hi;
        update();
    }
    int count() const { return static_cast<int>(x_.cols()); }

protected:
    void paintEvent(QPaintEvent*) override {
        QPainter p(this);
        p.fillRect(rect(), palette().base());
        if (x_.cols() == 0)
            return;
        auto level = [&](float v) { // 0..1 over the shown range
            const double t = hi_ > lo_ ? (v - lo_) / (hi_ - lo_) : 0.5;
            return std::clamp(t, 0.0, 1.0);
        };
        if (images_) {
            const int n = static_cast<int>(x_.cols());
            const int perRow = 4, rows = (n + perRow - 1) / perRow;
            const int cell =
                std::max(8, std::min((width() - 4) / perRow, (height() - 4) / rows)) - 4;
            for (int b = 0; b < n; ++b) {
                QImage img(side_, side_, QImage::Format_Grayscale8);
                for (int r = 0; r < side_; ++r) {
                    uchar* line = img.scanLine(r);
                    for (int c = 0; c < side_; ++c)
                        line[c] =
                            static_cast<uchar>(std::lround(255.0 * level(x_(r * side_ + c, b))));
                }
                const QRect target(2 + (b % perRow) * (cell + 4), 2 + (b / perRow) * (cell + 4),
                                   cell, cell);
                p.drawImage(target, img); // nearest pixels: what the network sees, unblurred
            }
            return;
        }
        const int n = static_cast<int>(x_.cols());
        const int features = std::min<int>(static_cast<int>(x_.rows()), kMaxFeatures);
        QImage img(features, n, QImage::Format_RGB32);
        for (int b = 0; b < n; ++b)
            for (int j = 0; j < features; ++j)
                img.setPixel(j, b,
                             std::isfinite(x_(j, b)) ? viridis(level(x_(j, b))) : nonfiniteColor());
        const int h = std::min(height() - 4, n * std::max(6, (height() - 4) / n));
        p.drawImage(QRect(2, 2, width() - 4, h), img);
    }

private:
    MatrixF x_;
    bool images_ = false;
    int side_ = 0;
    double lo_ = 0, hi_ = 1;
};

namespace {

/// The q-quantile of the values (nearest rank).
double quantile(std::vector<float> v, double q) {
    if (v.empty())
        return 0;
    const auto k = static_cast<std::size_t>(std::clamp(q, 0.0, 1.0) * (v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

/// Fields that decide the inputs (a new gain or depth does not redraw them).
bool sameInputs(const NetworkSpec& a, const NetworkSpec& b) {
    return a.data == b.data && a.standardize == b.standardize && a.inputDim == b.inputDim &&
           a.inputMean == b.inputMean && a.inputScale == b.inputScale && a.seed == b.seed &&
           std::min(a.batch, int(InputsView::kShown)) == std::min(b.batch, int(InputsView::kShown));
}

} // namespace

InputsView::InputsView(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("inputsView"));
    auto* lay = new QVBoxLayout(this);
    caption_ = new QLabel(tr("No inputs yet."));
    caption_->setObjectName(QStringLiteral("inputsCaption"));
    caption_->setWordWrap(true);
    canvas_ = new InputsCanvas;
    lay->addWidget(caption_);
    lay->addWidget(canvas_, 1);
}

void InputsView::setSpec(const NetworkSpec& spec) {
    if (hasShown_ && sameInputs(spec, shown_))
        return;
    shown_ = spec;
    hasShown_ = true;
    const int count = std::min(spec.batch, kShown);
    caption_->setText(tr("Reading the first %1 inputs\u2026").arg(count));
    worker_.submit([this, spec, count](quint64 gen, const std::atomic<bool>& cancel) {
        MatrixF x;
        try {
            x = drawInputs(spec, count, &cancel);
        } catch (const std::exception& e) {
            const QString m = QString::fromUtf8(e.what());
            worker_.post(gen, [this, m] { caption_->setText(tr("No inputs: %1").arg(m)); });
            return;
        }
        if (cancel.load())
            return;
        worker_.post(gen,
                     [this, spec, x = std::move(x)]() mutable { display(spec, std::move(x)); });
    });
}

void InputsView::display(const NetworkSpec& spec, MatrixF x) {
    const bool images = spec.data == "fashion-mnist";
    const int features =
        images ? static_cast<int>(x.rows())
               : std::min<int>(static_cast<int>(x.rows()), InputsCanvas::kMaxFeatures);
    std::vector<float> values;
    for (int b = 0; b < x.cols(); ++b)
        for (int j = 0; j < features; ++j)
            values.push_back(x(j, b));
    const double mn = values.empty() ? 0 : *std::min_element(values.begin(), values.end());
    const double mx = values.empty() ? 0 : *std::max_element(values.begin(), values.end());
    // the colour range: 1 % .. 99 % of the values, so that a few standardised pixels of rare
    // strokes (z of 50 and more) do not turn every image grey
    const double lo = quantile(values, 0.01), hi = quantile(values, 0.99);
    QString what;
    if (images)
        what = tr("Fashion-MNIST training images, %1")
                   .arg(spec.standardize ? tr("standardised") : tr("raw pixels"));
    else if (spec.data == "gaussian")
        what = tr("gaussian draws N(%1, %2)")
                   .arg(spec.inputMean)
                   // the square after the argument: "%2\u00b2" reads as a 22nd argument
                   .arg(QString::number(spec.inputScale) + QStringLiteral("\u00b2"));
    else
        what = tr("%1, %2").arg(QString::fromStdString(spec.data),
                                spec.standardize ? tr("standardised") : tr("raw"));
    QString caption = tr("First %1 inputs of the batch: %2").arg(x.cols()).arg(what);
    if (spec.data != "gaussian" && spec.inputScale != 1.0)
        caption += tr(", \u00d7 input scale %1").arg(spec.inputScale);
    caption += tr(".\nValues %1 .. %2; %3 %4 .. %5.")
                   .arg(mn, 0, 'g', 4)
                   .arg(mx, 0, 'g', 4)
                   .arg(images ? tr("black .. white:") : tr("colour (viridis):"))
                   .arg(lo, 0, 'g', 4)
                   .arg(hi, 0, 'g', 4);
    if (!images)
        caption +=
            tr(" Rows: inputs; columns: the first %1 of %2 features.").arg(features).arg(x.rows());
    caption_->setText(caption);
    canvas_->setInputs(std::move(x), images, kFashionMnistSide, lo, hi);
}

QString InputsView::captionText() const {
    return caption_->text();
}

bool InputsView::showsImages() const {
    return hasShown_ && shown_.data == "fashion-mnist";
}

int InputsView::shownCount() const {
    return canvas_->count();
}

} // namespace initscope::ui
