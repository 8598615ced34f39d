// A small drawing of the network the controls describe: for an mlp the stack x -> [W phi] ->
// ... -> a^L with its depth and widths, for a resnet the residual stream with its blocks
// x + gamma F(x), their skip paths and branches of m dense layers, for an rnn the time steps
// unrolled: h_t from h_{t-1} through the tied W and from x_t through U. Pure painting from the spec
// (no computation); it follows the controls on every edit.
#pragma once

#include "spec/spec.h"

#include <QWidget>

namespace initscope::ui {

class NetworkDiagram : public QWidget {
    Q_OBJECT
public:
    explicit NetworkDiagram(QWidget* parent = nullptr);

    void setSpec(const NetworkSpec& spec);
    const NetworkSpec& spec() const { return spec_; }
    /// One line that says what is drawn ("resnet: 10 blocks of x + 1·F(x), branch 2 layers of
    /// 256, relu"); also the widget's tooltip and accessible description.
    QString description() const { return description_; }
    static QString describe(const NetworkSpec& spec);
    /// describe() without the heads.
    static QString describeTrunk(const NetworkSpec& spec);

    QSize sizeHint() const override { return {300, 74}; }
    QSize minimumSizeHint() const override { return {200, 74}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    void paintMlp(QPainter& p, const QRectF& area) const;
    void paintResnet(QPainter& p, const QRectF& area) const;
    void paintRnn(QPainter& p, const QRectF& area) const;
    /// The heads as boxes "name widths" in a column fed by a^L (at most 4 drawn).
    void paintHeads(QPainter& p, const QRectF& area) const;
    NetworkSpec spec_;
    QString description_;
};

} // namespace initscope::ui
